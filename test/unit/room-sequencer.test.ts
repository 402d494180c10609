/**
 * RoomSequencer puts a room's messages back in seq order before a gateway emits them (DESIGN §7:
 * every member sees a room's messages in seq order).
 */
import { RoomSequencer } from "../../lib/room-sequencer";
import type { MessageDTO } from "../../types";

const WAIT_MS = 250;

function message(roomId: number, seq: number, content = `m${seq}`): MessageDTO {
  return {
    id: roomId * 1000 + seq,
    room_id: roomId,
    seq,
    sender: { id: 1, username: "alice" },
    content,
    client_msg_id: null,
    created_at: new Date(0).toISOString(),
    edited_at: null,
    is_deleted: false,
  };
}

describe("RoomSequencer", () => {
  let emitted: MessageDTO[];
  let sequencer: RoomSequencer;
  const seqsOf = (roomId: number) => emitted.filter((m) => m.room_id === roomId).map((m) => m.seq);

  beforeEach(() => {
    jest.useFakeTimers();
    emitted = [];
    sequencer = new RoomSequencer((m) => emitted.push(m), WAIT_MS);
  });
  afterEach(() => {
    sequencer.close();
    jest.useRealTimers();
  });

  test("messages arriving in order are emitted at once", () => {
    for (const seq of [1, 2, 3]) sequencer.push(message(7, seq));
    expect(seqsOf(7)).toEqual([1, 2, 3]);
    expect(jest.getTimerCount()).toBe(0);
  });

  test("the first message a gateway sees for a room is emitted at once, whatever its seq", () => {
    sequencer.push(message(7, 41));
    expect(seqsOf(7)).toEqual([41]);
  });

  test("out-of-order arrivals come out in seq order as soon as the missing ones arrive", () => {
    sequencer.push(message(7, 1));
    sequencer.push(message(7, 4));
    sequencer.push(message(7, 3));
    expect(seqsOf(7)).toEqual([1]); // 3 and 4 wait for 2
    sequencer.push(message(7, 2));
    expect(seqsOf(7)).toEqual([1, 2, 3, 4]);
    // Nothing is left waiting, and the timer is gone.
    expect(jest.getTimerCount()).toBe(0);
    sequencer.push(message(7, 5));
    expect(seqsOf(7)).toEqual([1, 2, 3, 4, 5]);
  });

  test("the payload emitted is the message pushed, once each", () => {
    const pushed = [message(7, 1), message(7, 3, "three"), message(7, 2, "two")];
    for (const m of pushed) sequencer.push(m);
    expect(emitted).toEqual([pushed[0], pushed[2], pushed[1]]);
  });

  test("a gap is flushed after the wait: the waiting messages are emitted in order, skipping it", () => {
    sequencer.push(message(7, 1));
    sequencer.push(message(7, 5));
    sequencer.push(message(7, 3));
    sequencer.push(message(7, 4));
    jest.advanceTimersByTime(WAIT_MS - 1);
    expect(seqsOf(7)).toEqual([1]);
    jest.advanceTimersByTime(1);
    expect(seqsOf(7)).toEqual([1, 3, 4, 5]);
    // After the flush the sequence continues from the last one emitted.
    sequencer.push(message(7, 6));
    expect(seqsOf(7)).toEqual([1, 3, 4, 5, 6]);
  });

  test("the wait starts with the first early message, not the latest one", () => {
    sequencer.push(message(7, 1));
    sequencer.push(message(7, 3));
    jest.advanceTimersByTime(WAIT_MS - 50);
    sequencer.push(message(7, 4)); // does not extend the wait
    jest.advanceTimersByTime(50);
    expect(seqsOf(7)).toEqual([1, 3, 4]);
  });

  test("a message that arrives after its gap was flushed still goes out (late), and so do duplicates", () => {
    sequencer.push(message(7, 1));
    sequencer.push(message(7, 3));
    jest.advanceTimersByTime(WAIT_MS);
    expect(seqsOf(7)).toEqual([1, 3]);
    sequencer.push(message(7, 2)); // late: clients order it themselves (they have 3 already)
    expect(seqsOf(7)).toEqual([1, 3, 2]);
    sequencer.push(message(7, 3)); // a duplicate delivery passes through too
    expect(seqsOf(7)).toEqual([1, 3, 2, 3]);
    // ...and does not move the sequence back: 4 is next, 5 still waits for it.
    sequencer.push(message(7, 5));
    expect(seqsOf(7)).toEqual([1, 3, 2, 3]);
    sequencer.push(message(7, 4));
    expect(seqsOf(7)).toEqual([1, 3, 2, 3, 4, 5]);
  });

  test("rooms are sequenced independently: a gap in one room holds back nothing in another", () => {
    sequencer.push(message(1, 1));
    sequencer.push(message(2, 10));
    sequencer.push(message(1, 3)); // waits for 2
    sequencer.push(message(2, 11));
    sequencer.push(message(2, 12));
    expect(seqsOf(1)).toEqual([1]);
    expect(seqsOf(2)).toEqual([10, 11, 12]);
    jest.advanceTimersByTime(WAIT_MS);
    expect(seqsOf(1)).toEqual([1, 3]);
  });

  test("close() stops the timers and drops what was waiting", () => {
    sequencer.push(message(7, 1));
    sequencer.push(message(7, 3));
    sequencer.close();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(WAIT_MS * 2);
    expect(seqsOf(7)).toEqual([1]);
  });

  test("1,000 messages shuffled within small windows come out as 1..1000", () => {
    const order: number[] = [];
    for (let base = 1; base <= 1000; base += 10) {
      const window = Array.from({ length: 10 }, (_, i) => base + i);
      // a deterministic shuffle: reverse each window
      order.push(...window.reverse());
    }
    sequencer.push(message(9, 1)); // the gateway saw the room before
    for (const seq of order.filter((s) => s !== 1)) sequencer.push(message(9, seq));
    expect(seqsOf(9)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });
});
