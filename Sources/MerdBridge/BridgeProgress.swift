/// Which events the bridge has handed to MQTT and which the broker has acknowledged, as a
/// value: the bridge resumes the daemon's socket after `lastPublished` within a process
/// (libmosquitto still holds what is unacknowledged), and after `lastAcknowledged` when it
/// starts again (what it stores).
///
/// An acknowledgement can arrive (on the MQTT network thread) before `mosquitto_publish` has
/// even returned the message id to the bridge's thread: such an id is kept in `early` and
/// settled when the publication is recorded. Every message the bridge sends is recorded, its
/// own status messages too (without a seq), so an id in `early` is always one about to be.
struct BridgeProgress: Equatable {
    /// Message id → the event's seq (nil: a status message), for every QoS 1 message not yet
    /// acknowledged.
    private(set) var pending: [Int32: Int?] = [:]
    /// Acknowledged ids whose publication is not recorded yet.
    private var early: Set<Int32> = []
    /// The newest seq handed to MQTT.
    private(set) var lastPublished: Int?
    /// Every event up to this seq is acknowledged by the broker.
    private(set) var lastAcknowledged: Int?

    init(resumingAfter seq: Int?) {
        lastPublished = seq
        lastAcknowledged = seq
    }

    /// The broker is known to hold every event up to `seq` (its retained marker): resume
    /// after it when that is further than the stored progress. True when it was.
    @discardableResult
    mutating func brokerHolds(_ seq: Int) -> Bool {
        guard pending.isEmpty, seq > (lastPublished ?? 0) else { return false }
        lastPublished = seq
        lastAcknowledged = seq
        return true
    }

    /// Events handed to MQTT and not yet acknowledged.
    var pendingCount: Int { pending.values.count { $0 != nil } }

    /// Message `id` was handed to MQTT, carrying the event `seq` (nil: a status message);
    /// true when `lastAcknowledged` moved (its acknowledgement had come first).
    @discardableResult
    mutating func published(seq: Int?, id: Int32) -> Bool {
        if let seq { lastPublished = seq }
        pending[id] = seq
        guard early.remove(id) != nil else { return false }
        return acknowledged(id: id)
    }

    /// The broker acknowledged message `id`; true when `lastAcknowledged` moved.
    @discardableResult
    mutating func acknowledged(id: Int32) -> Bool {
        guard pending.removeValue(forKey: id) != nil else {
            early.insert(id)
            return false
        }
        let before = lastAcknowledged
        // Everything before the oldest unacknowledged event is acknowledged.
        if let oldest = pending.values.compactMap({ $0 }).min() { lastAcknowledged = oldest - 1 } else { lastAcknowledged = lastPublished }
        if let before, let now = lastAcknowledged, now < before { lastAcknowledged = before }
        return lastAcknowledged != before
    }
}
