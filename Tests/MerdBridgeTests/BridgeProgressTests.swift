@testable import MerdBridge
import Testing

@Suite("Bridge: progress and broker addresses")
struct BridgeProgressTests {
    @Test("acknowledged up to the oldest unacknowledged event, whatever order the acknowledgements come in")
    func order() {
        var progress = BridgeProgress(resumingAfter: 10)
        for (seq, id) in [(11, Int32(1)), (12, 2), (13, 3)] { progress.published(seq: seq, id: id) }
        #expect(progress.pendingCount == 3 && progress.lastPublished == 13 && progress.lastAcknowledged == 10)
        var moved = progress.acknowledged(id: 2)
        #expect(!moved && progress.lastAcknowledged == 10, "12 acknowledged, 11 not: nothing moves")
        moved = progress.acknowledged(id: 1)
        #expect(moved && progress.lastAcknowledged == 12)
        moved = progress.acknowledged(id: 3)
        #expect(moved && progress.lastAcknowledged == 13 && progress.pendingCount == 0)
    }

    @Test("an acknowledgement that comes before the publication is recorded settles it; status messages count for nothing")
    func early() {
        var progress = BridgeProgress(resumingAfter: nil)
        var moved = progress.acknowledged(id: 7)
        #expect(!moved)
        moved = progress.published(seq: 1, id: 7)
        #expect(moved && progress.lastAcknowledged == 1 && progress.pendingCount == 0, "acknowledged as soon as recorded")
        progress.published(seq: nil, id: 8)  // a status message
        #expect(progress.pendingCount == 0)
        progress.published(seq: 2, id: 9)
        moved = progress.acknowledged(id: 8)
        #expect(!moved && progress.lastAcknowledged == 1, "the status's acknowledgement moves nothing")
        // Ids are reused after 65535: an id settled early does not linger to settle a later one.
        moved = progress.acknowledged(id: 9)
        #expect(moved && progress.lastAcknowledged == 2)
        progress.published(seq: 3, id: 7)
        #expect(progress.pendingCount == 1 && progress.lastAcknowledged == 2)
    }

    @Test("broker addresses", arguments: [
        ("mqtt://broker.local", BrokerAddress(host: "broker.local", port: 1883, tls: false)),
        ("mqtts://broker.local", BrokerAddress(host: "broker.local", port: 8883, tls: true)),
        ("mqtt://10.0.0.5:11883/", BrokerAddress(host: "10.0.0.5", port: 11883, tls: false)),
        ("mqtts://[::1]:8884", BrokerAddress(host: "::1", port: 8884, tls: true)),
    ])
    func addresses(_ text: String, _ expected: BrokerAddress) throws {
        #expect(try BrokerAddress(text) == expected)
        #expect(try BrokerAddress(expected.description) == expected)
    }

    @Test("bad broker addresses say what to give", arguments: ["tcp://h", "mqtt://", "mqtt://user@h", "mqtt://h:0", "mqtt://h:x", "mqtt://::1:1883", "mqtt://[::1"])
    func badAddresses(_ text: String) {
        #expect(throws: BridgeOptionError.self) { try BrokerAddress(text) }
    }
}
