import type { MessageDTO } from "../types";

/**
 * Puts a room's messages back in seq order before a gateway emits them. Sends commit in seq order but
 * their events can arrive out of order (several senders, several service nodes); a message that
 * arrives early waits for the missing ones, at most `maxWaitMs`, then everything waiting is emitted in
 * order and clients fill any real gap with `messages.sync`.
 */
export class RoomSequencer {
  private readonly expected = new Map<number, number>();
  private readonly waiting = new Map<number, Map<number, MessageDTO>>();
  private readonly timers = new Map<number, NodeJS.Timeout>();

  constructor(
    private readonly emit: (message: MessageDTO) => void,
    private readonly maxWaitMs = 250,
  ) {}

  push(message: MessageDTO): void {
    const room = message.room_id;
    const expected = this.expected.get(room);
    // First message this gateway sees for the room, the next one, or a late one: emit now.
    if (expected === undefined || message.seq <= expected) {
      this.release(message);
      this.drain(room);
      return;
    }
    const waiting = this.waiting.get(room) ?? new Map<number, MessageDTO>();
    waiting.set(message.seq, message);
    this.waiting.set(room, waiting);
    if (!this.timers.has(room)) {
      const timer = setTimeout(() => this.flush(room), this.maxWaitMs);
      timer.unref();
      this.timers.set(room, timer);
    }
  }

  /** Stops the timers; nothing waiting is emitted afterwards. */
  close(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.waiting.clear();
  }

  private release(message: MessageDTO): void {
    const expected = this.expected.get(message.room_id) ?? 0;
    if (message.seq + 1 > expected) this.expected.set(message.room_id, message.seq + 1);
    this.emit(message);
  }

  /** Emits the waiting messages that are now next in line. */
  private drain(room: number): void {
    const waiting = this.waiting.get(room);
    if (!waiting) return;
    let next = this.expected.get(room);
    while (next !== undefined && waiting.has(next)) {
      this.release(waiting.get(next)!);
      waiting.delete(next);
      next = this.expected.get(room);
    }
    if (waiting.size === 0) this.forget(room);
  }

  /** The wait is over: emit everything waiting, in order, skipping the gap. */
  private flush(room: number): void {
    const waiting = this.waiting.get(room);
    this.forget(room);
    if (!waiting) return;
    for (const seq of [...waiting.keys()].sort((a, b) => a - b)) this.release(waiting.get(seq)!);
  }

  private forget(room: number): void {
    clearTimeout(this.timers.get(room));
    this.timers.delete(room);
    this.waiting.delete(room);
  }
}
