import MerdEvents

/// One subscriber's pending events: bounded, oldest dropped first, with the count of what was
/// dropped so the subscriber can be told before its next event (EVENTS.md, "Slow clients").
/// Each event keeps its `seq`, so that a replay (`since`) can tell what was already sent.
struct SubscriberQueue {
    /// A line to send, the `seq` of the event in it and its type (nil for replies and notices).
    struct Entry {
        let line: String
        let seq: Int?
        var type: String? = nil
    }

    let capacity: Int
    private var lines: [Entry] = []
    private var head = 0
    /// Events dropped since the subscriber was last told.
    private(set) var dropped = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a queue holds at least one event")
        self.capacity = capacity
    }

    var isEmpty: Bool { head == lines.count && dropped == 0 && control.isEmpty }
    var count: Int { lines.count - head }

    /// Queues an event; true when the oldest queued one was dropped for it.
    @discardableResult
    mutating func push(_ line: String, seq: Int? = nil, type: String? = nil) -> Bool {
        let full = count == capacity
        if full {
            head += 1
            dropped += 1
        }
        lines.append(Entry(line: line, seq: seq, type: type))
        if head > 1024 && head * 2 > lines.count {
            lines.removeFirst(head)
            head = 0
        }
        return full
    }

    /// Events the subscriber will not get though it should have (not stored for its replay,
    /// or deleted by retention before it got there): told in the next `dropped` notice.
    mutating func missed(_ count: Int) {
        dropped += count
    }

    /// Queues an event ahead of the others (an older one that was held back); when the queue
    /// is full it is the one dropped.
    mutating func pushFirst(_ entry: Entry) {
        guard count < capacity else {
            dropped += 1
            return
        }
        if head > 0 {
            head -= 1
            lines[head] = entry
        } else {
            lines.insert(entry, at: 0)
        }
    }

    /// Forgets the queued events (not replies) that `keep` refuses: a replay sends them again,
    /// in order, or the client's subscription does not want them.
    mutating func removeEvents(keeping keep: (Entry) -> Bool = { _ in false }) {
        lines = lines[head...].filter(keep)
        head = 0
    }

    /// A reply to the subscriber itself (an error): never dropped, sent before queued events.
    mutating func pushControl(_ line: String) {
        control.append(line)
    }

    private var control: [String] = []

    /// Replies waiting to be sent.
    var controlCount: Int { control.count }

    /// The next line to send: control replies, then a `dropped` notice when events were lost,
    /// then events (unless `events` is false: the client's events are held back for now).
    mutating func pop(events: Bool = true) -> Entry? {
        if !control.isEmpty { return Entry(line: control.removeFirst(), seq: nil) }
        guard events else { return nil }
        if dropped > 0 {
            defer { dropped = 0 }
            return Entry(line: DroppedNotice(count: dropped).jsonLine(), seq: nil)
        }
        guard head < lines.count else { return nil }
        defer { head += 1 }
        return lines[head]
    }
}
