import MerdEvents

/// One subscriber's pending events: bounded, oldest dropped first, with the count of what was
/// dropped so the subscriber can be told before its next event (EVENTS.md, "Slow clients").
struct SubscriberQueue {
    let capacity: Int
    private var lines: [String] = []
    private var head = 0
    /// Events dropped since the subscriber was last told.
    private(set) var dropped = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a queue holds at least one event")
        self.capacity = capacity
    }

    var isEmpty: Bool { head == lines.count && dropped == 0 && control.isEmpty }
    var count: Int { lines.count - head }

    mutating func push(_ line: String) {
        if count == capacity {
            head += 1
            dropped += 1
        }
        lines.append(line)
        if head > 1024 && head * 2 > lines.count {
            lines.removeFirst(head)
            head = 0
        }
    }

    /// A reply to the subscriber itself (an error): never dropped, sent before queued events.
    mutating func pushControl(_ line: String) {
        control.append(line)
    }

    private var control: [String] = []

    /// Replies waiting to be sent.
    var controlCount: Int { control.count }

    /// The next line to send: control replies, then a `dropped` notice when events were lost.
    mutating func pop() -> String? {
        if !control.isEmpty { return control.removeFirst() }
        if dropped > 0 {
            defer { dropped = 0 }
            return DroppedNotice(count: dropped).jsonLine()
        }
        guard head < lines.count else { return nil }
        defer { head += 1 }
        return lines[head]
    }
}
