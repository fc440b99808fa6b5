import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Debian's Chromium, headless, driven through the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: JSON messages ended by NUL, commands in on descriptor 3,
/// answers and events out on 4), so a test can open a page, read what the browser's console
/// reported, evaluate script and take a screenshot.
final class HeadlessChromium {
    private let process: SpawnedProcess
    private let commands: Int32
    private let replies: Int32
    private var buffer: [UInt8] = []
    private var nextID = 0
    private var session: String?
    let profile: String
    /// Console messages of level error, uncaught exceptions and the browser's own error log
    /// entries (a resource that failed to load), as they came.
    private(set) var errors: [String] = []

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(width: Int = 1280, height: Int = 860) throws {
        profile = NSTemporaryDirectory() + "merd-chromium-\(UUID().uuidString.prefix(8))"
        var toBrowser: [Int32] = [0, 0], fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Failure(description: "pipe failed") }
        process = try SpawnedProcess("/usr/bin/chromium", [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--user-data-dir=\(profile)",
            "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--window-size=\(width),\(height)",
            "--force-device-scale-factor=1", "about:blank",
        ], log: profile + ".log", descriptors: [3: toBrowser[0], 4: fromBrowser[1]])
        close(toBrowser[0])
        close(fromBrowser[1])
        commands = toBrowser[1]
        replies = fromBrowser[0]
        let target = try call("Target.createTarget", ["url": "about:blank"], inSession: false)
        guard let targetID = target["targetId"] as? String else { throw Failure(description: "no target: \(target)") }
        let attached = try call("Target.attachToTarget", ["targetId": targetID, "flatten": true], inSession: false)
        session = attached["sessionId"] as? String
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] { _ = try call(domain) }
    }

    deinit {
        close(commands)
        close(replies)
        process.stop()
        try? FileManager.default.removeItem(atPath: profile)
        try? FileManager.default.removeItem(atPath: profile + ".log")
    }

    /// Opens `url` and waits for its load event.
    func open(_ url: String, timeout: Double = 10) throws {
        _ = try call("Page.navigate", ["url": url])
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let message = try read(until: deadline), message["method"] as? String == "Page.loadEventFired" { return }
        }
        throw Failure(description: "\(url) did not load within \(timeout) s")
    }

    /// Lets the page run for `seconds`, collecting what its console reports.
    func wait(_ seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { _ = try read(until: deadline) }
    }

    /// The value of `expression` in the page (JSON-compatible values).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure(description: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// A PNG of the page as shown.
    func screenshot() throws -> Data {
        let result = try call("Page.captureScreenshot", ["format": "png"])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else { throw Failure(description: "no screenshot") }
        return data
    }

    // MARK: The protocol

    private func call(_ method: String, _ parameters: [String: Any] = [:], inSession: Bool = true) throws -> [String: Any] {
        nextID += 1
        let id = nextID
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if inSession, let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        let written = bytes.withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw Failure(description: "\(method): the browser is gone") }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            guard let reply = try read(until: deadline), reply["id"] as? Int == id else { continue }
            if let error = reply["error"] { throw Failure(description: "\(method): \(error)") }
            return reply["result"] as? [String: Any] ?? [:]
        }
        throw Failure(description: "\(method): no answer")
    }

    /// The next message, or nil at the deadline; errors the page reports are collected.
    private func read(until deadline: Date) throws -> [String: Any]? {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let data = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                guard let message = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                collect(message)
                return message
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var poller = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(max(1, left * 1000))) > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let count = Glibc.read(replies, &chunk, chunk.count)
            guard count > 0 else { throw Failure(description: "the browser closed its pipe (see \(profile).log)") }
            buffer += chunk[0..<count]
        }
    }

    private func collect(_ message: [String: Any]) {
        let parameters = message["params"] as? [String: Any] ?? [:]
        switch message["method"] as? String {
        case "Runtime.consoleAPICalled" where parameters["type"] as? String == "error":
            errors.append("console.error: \(parameters["args"] ?? "")")
        case "Runtime.exceptionThrown":
            errors.append("exception: \(parameters["exceptionDetails"] ?? "")")
        case "Log.entryAdded":
            let entry = parameters["entry"] as? [String: Any] ?? [:]
            if entry["level"] as? String == "error" { errors.append("log: \(entry["text"] ?? "") \(entry["url"] ?? "")") }
        default:
            break
        }
    }
}
