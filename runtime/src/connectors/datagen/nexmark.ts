// A Nexmark-like generator (persons, auctions, bids) in the proportions of the Nexmark
// benchmark (1 : 3 : 46 per 50 events). Values are derived from the event index only.
import type { Rec } from '../../core/record.ts';
import type { RecordRandom } from './random.ts';

type Kind = 'person' | 'auction' | 'bid';

const PATTERN: Kind[] = Array.from({ length: 50 }, (_, i): Kind => (i === 0 ? 'person' : i <= 3 ? 'auction' : 'bid'));
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
];
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const FIRST_ID = 1000;
const HOT_RATIO = 4; // one bid in HOT_RATIO goes to a hot auction / hot bidder

export class NexmarkGenerator {
  private readonly pattern: Kind[];

  constructor(events: readonly Kind[] | undefined) {
    const allowed = new Set(events ?? ['person', 'auction', 'bid']);
    this.pattern = PATTERN.filter((k) => allowed.has(k));
  }

  generate(index: number, ts: number, rnd: RecordRandom): Rec {
    const kind = this.pattern[index % this.pattern.length] as Kind;
    // Entity counts so far (by position in the full 50-event pattern), so ids refer to existing entities.
    const epoch = Math.floor(index / 50);
    const persons = epoch + 1;
    const auctions = epoch * 3 + 1;
    if (kind === 'person') {
      const id = FIRST_ID + epoch;
      const name = `${rnd.pick(FIRST_NAMES)} ${rnd.pick(LAST_NAMES)}`;
      return {
        event_type: 'person',
        ts,
        id,
        name,
        email: `${name.replace(' ', '.').toLowerCase()}@example.com`,
        city: rnd.pick(CITIES),
        state: rnd.pick(STATES),
      };
    }
    if (kind === 'auction') {
      const id = FIRST_ID + epoch * 3 + (index % 50) - 1;
      const initialBid = Math.round(Math.pow(10, rnd.next() * 4) * 100) / 100;
      return {
        event_type: 'auction',
        ts,
        id: Math.max(FIRST_ID, id),
        itemName: `item-${rnd.int(0, 9999)}`,
        initialBid,
        reserve: Math.round(initialBid * (1 + rnd.next()) * 100) / 100,
        expires: ts + rnd.int(10_000, 600_000),
        seller: FIRST_ID + rnd.int(0, persons - 1),
        category: 10 + rnd.int(0, 4),
      };
    }
    const hotAuction = rnd.int(0, HOT_RATIO - 1) > 0;
    const auction = hotAuction ? FIRST_ID + Math.floor(auctions / 10) * 10 : FIRST_ID + rnd.int(0, auctions - 1);
    const hotBidder = rnd.int(0, HOT_RATIO - 1) > 0;
    const bidder = hotBidder ? FIRST_ID + Math.floor(persons / 10) * 10 + 1 : FIRST_ID + rnd.int(0, persons - 1);
    const channel = rnd.pick(CHANNELS);
    return {
      event_type: 'bid',
      ts,
      auction,
      bidder,
      price: Math.round(Math.pow(10, rnd.next() * 5) * 100) / 100,
      channel,
      url: `https://www.nexmark.com/${channel.toLowerCase()}/item.htm?query=${rnd.int(1, 99)}`,
    };
  }
}
