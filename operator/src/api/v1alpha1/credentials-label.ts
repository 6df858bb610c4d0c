/**
 * Label a Secret must carry (value "true") before the operator or a job may use it as credentials: a namespace's
 * other Secrets stay out of reach of whoever can write a CR.
 */
export const CREDENTIALS_LABEL = 'tributary.dev/credentials';
