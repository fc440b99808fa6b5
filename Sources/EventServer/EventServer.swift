import Locking
import EventHistory
import Foundation
import MerdEvents
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The events socket (EVENTS.md): a Unix stream socket where each subscriber gets a `hello`
/// line on connect, may send one `subscribe` line, and then receives JSON Lines.
///
/// One thread runs a poll loop over the listening socket, every subscriber and a wake-up
/// eventfd; all sockets are non-blocking. `publish` only appends to bounded per-subscriber
/// queues and wakes the loop, so the engine never waits on a subscriber, and a stuck one
/// loses its oldest events (and is told how many) without delaying the others.
///
/// With an `archive` (the history), a subscriber may ask for the events after a `seq` it saw
/// (`since`): it gets them from the archive, paced by how fast it reads (a replay never
/// overflows its queue), and then the live ones, each `seq` once. Live events are not queued
/// for it while it replays; they are in the archive, which the daemon writes before it
/// publishes.
///
/// As a `Service` it serves until graceful shutdown, then sends what each subscriber can still
/// take (for at most `Configuration.flushMilliseconds`) and closes; an event published after
/// that is not sent (and counted: `publishedAfterClose`).
public final class EventServer: Sendable {
    public struct Configuration: Sendable {
        public var path: String
        /// Permission bits of the socket file (0660: owner and the `merd` group).
        public var mode: mode_t
        /// Events queued per subscriber before the oldest are dropped.
        public var queueCapacity: Int
        /// The types a subscriber receives unless it subscribes to fewer.
        public var types: Set<String>
        /// The kernel's send buffer per subscriber (SO_SNDBUF), or nil for the system's
        /// (~200 KiB). Smaller, a subscriber that stops reading reaches its bounded queue, and
        /// its `dropped` notices, sooner, and holds less memory in the kernel.
        public var sendBufferBytes: Int?
        /// At close, how long subscribers get to take what is queued for them (the last
        /// `status` among it); a stuck one is not waited for longer.
        public var flushMilliseconds: Int
        /// What each client may send and leave unread (``ClientInputBudget``).
        var inputLimits = ClientInputBudget.Limits.standard
        /// Told of trouble the server handles by itself (out of file descriptors), once per
        /// episode: the daemon logs it.
        public var report: (@Sendable (String) -> Void)?
        /// Where `since` replays read from; nil: history is off, and `since` is refused.
        public var archive: (any EventArchive)?
        /// The answer to `{"metrics": true}` (Prometheus text), given the server's own counts;
        /// nil: metrics are off.
        public var metrics: (@Sendable (Counts) -> String)?

        public init(path: String, mode: mode_t = 0o660, queueCapacity: Int = 1024,
                    types: Set<String> = ["utterance", "face", "status"], sendBufferBytes: Int? = nil,
                    flushMilliseconds: Int = 250) {
            self.path = path
            self.mode = mode
            self.queueCapacity = queueCapacity
            self.types = types
            self.sendBufferBytes = sendBufferBytes
            self.flushMilliseconds = flushMilliseconds
        }
    }

    /// Lines a subscriber may send are at most this long; a longer one closes the connection.
    public static let maximumLineBytes = 64 * 1024

    public let configuration: Configuration
    private let listener: Int32
    /// A pipe the publishers write a byte to, so the poll loop wakes for new events.
    private let wakeup: (read: Int32, write: Int32)
    private let ownsSocketFile: Bool
    private let state = Locked<State>(State())
    /// Whether the serving thread was started.
    private let threadStarted = Atomic<Bool>(false)
    /// Signalled once when the serving thread has closed everything.
    private let exited = DispatchSemaphore(value: 0)
    /// Whoever awaits `close()`, resumed when the thread has ended.
    private let closing = Locked<(ended: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    private struct Client {
        let descriptor: Int32
        var queue: SubscriberQueue
        var types: Set<String>
        var budget: ClientInputBudget
        var subscribed = false
        var input: [UInt8] = []
        var output: [UInt8] = []
        var outputOffset = 0
        /// The `seq` of the event in `output`.
        var outputSeq: Int?
        /// Events sent before the client subscribed (the latest status, live events): a
        /// replay it then asks for does not repeat them. Bounded: a client that never
        /// subscribes keeps the last ``sentSeqLimit``.
        var sentBeforeSubscribing: [Int] = []
        /// Replaying from the archive: live events wait in the archive meanwhile.
        var replay: Replay?
        /// Live events up to this `seq` came in the replay, and are not queued again.
        var liveAfter = 0
        /// The latest `status` of each source when the client connected, oldest first. A new
        /// client's events are held back until it has said what it wants (or until
        /// `greetingDue`, if it says nothing); then these statuses go first, ahead of the live
        /// events queued meanwhile. A client resuming with `since` never gets them: its replay
        /// brings the statuses it lacks, and one it already has must not come twice.
        var greeting: [SubscriberQueue.Entry] = []
        var greetingDue = ContinuousClock.Instant.now
        /// Until the client's subscription line (or `greetingDue`): its events queue, none is sent.
        var awaitingSubscription = true

        /// Ends the wait for the subscription: the greeting goes ahead of the queued events.
        mutating func endWait() {
            if types.contains("status") { for entry in greeting.reversed() { queue.pushFirst(entry) } }
            greeting = []
            awaitingSubscription = false
        }
        /// The client shut down its sending side (`shutdown(SHUT_WR)`, `nc -N`): nothing more
        /// to read, but it still receives.
        var inputClosed = false
        /// Over budget: told so, read no more, disconnected once the refusal is out (or at this
        /// deadline, if it does not read it).
        var disconnectAt: ContinuousClock.Instant?

        var hasOutput: Bool {
            outputOffset < output.count || queue.controlCount > 0 || (!awaitingSubscription && !queue.isEmpty)
        }
    }

    /// Where a client's replay has got to.
    private struct Replay {
        /// Every stored event up to this `seq` was considered.
        var cursor: Int
        /// Events after the cursor the client already has (sent before it subscribed).
        var skip: Set<Int>
    }

    /// How long the latest `status` waits for a new client's subscription line (a client
    /// that sends one sends it at once after connecting).
    static let greetingWait: Duration = .milliseconds(200)

    /// `Client.sentBeforeSubscribing`'s bound.
    static let sentSeqLimit = 4096
    /// Events read from the archive at once for one client (fewer when its queue has less room).
    static let replayBatch = 256

    /// Bytes read from one client per turn of the poll loop: a client that keeps writing is
    /// read again on the next turn, after every other ready socket has had its turn.
    static let readBytesPerTurn = 16 * 1024
    /// How long accepting pauses after the process ran out of file descriptors (EMFILE):
    /// the listener stays readable, and retrying at once would spin.
    static let acceptBackoff: Duration = .milliseconds(250)

    private struct State {
        var clients: [Int32: Client] = [:]
        var hello = ""
        /// The latest `status` line of each source (by `publish`'s `source`), oldest first: a
        /// new subscriber gets them right after `hello`, so it knows every source's state
        /// without waiting for the next change, even when another source spoke last.
        var latestStatuses: [(source: String, entry: SubscriberQueue.Entry)] = []
        /// The highest `seq` published that the archive holds: a replay that has read past it
        /// has caught up.
        var lastStored = 0
        var running = true
        var publishedAfterClose = 0
        /// accept() is failing for want of descriptors (reported once until it recovers).
        var acceptFailing = false
    }

    /// Opens the socket: from systemd (LISTEN_FDS, socket activation) when it passes one,
    /// else at `configuration.path`, replacing a stale socket file left by a crashed run.
    public init(configuration: Configuration, hello: String,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(EventServerError) {
        self.configuration = configuration
        if environment["LISTEN_PID"] == String(getpid()), environment["LISTEN_FDS"] == "1" {
            listener = 3  // SD_LISTEN_FDS_START
            ownsSocketFile = false
        } else {
            listener = try Self.listen(at: configuration.path, mode: configuration.mode)
            ownsSocketFile = true
        }
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw .system(configuration.path, "pipe: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK) }
        wakeup = (ends[0], ends[1])
        state.withLock { $0.hello = hello }
    }

    /// The `hello` line subscribers who connect from now on get (a model reloaded, say);
    /// those already connected had theirs, and learn of the change from a `status` event.
    public func replaceHello(_ hello: String) {
        state.withLock { $0.hello = hello }
    }

    /// Starts serving on a thread of its own.
    public func start() {
        let thread = Thread { [self] in
            serve()
            exited.signal()
            let waiters = closing.withLock { closing in
                closing.ended = true
                defer { closing.waiters.removeAll() }
                return closing.waiters
            }
            waiters.forEach { $0.resume() }
        }
        thread.name = "merd-events"
        threadStarted.store(true, ordering: .releasing)
        thread.start()
    }

    /// What the server counts, for the metrics.
    public struct Counts: Sendable {
        public var subscribers: Int
        public var dropped: Int
    }

    /// Number of connected subscribers (read without the server's lock: the metrics ask).
    public var subscriberCount: Int { subscribers.load(ordering: .relaxed) }
    private let subscribers = Atomic<Int>(0)

    /// Events dropped from subscribers' queues (they read too slowly), or not delivered to a
    /// replaying one (not stored), since the server started.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }
    private let dropped = Atomic<Int>(0)

    /// Events published after the server closed (none, when the daemon shuts down in order).
    public var publishedAfterClose: Int { state.withLock { $0.publishedAfterClose } }

    /// Queues `line` (one JSON object, no newline) for every subscriber of `type`. `seq` is
    /// the event's number; `stored`, whether the archive holds it already (then a replaying
    /// subscriber reads it there; else the replaying ones are told they missed it). A `status`
    /// names its `source`: new subscribers get the latest status of each.
    public func publish(type: String, line: String, seq: Int? = nil, stored: Bool = false, source: String? = nil) {
        let (open, overflowed) = state.withLock { state -> (Bool, Int) in
            guard state.running else {
                state.publishedAfterClose += 1
                return (false, 0)
            }
            if type == "status" {
                state.latestStatuses.removeAll { $0.source == (source ?? "") }
                state.latestStatuses.append((source ?? "", SubscriberQueue.Entry(line: line, seq: seq, type: type)))
            }
            if stored, let seq { state.lastStored = max(state.lastStored, seq) }
            var overflowed = 0
            for (descriptor, client) in state.clients where client.types.contains(type) {
                if client.replay != nil {
                    if !stored {
                        state.clients[descriptor]!.queue.missed(1)
                        overflowed += 1
                    }
                    continue
                }
                if let seq, seq <= client.liveAfter { continue }
                if state.clients[descriptor]!.queue.push(line, seq: seq, type: type) { overflowed += 1 }
            }
            return (true, overflowed)
        }
        if overflowed > 0 { dropped.add(overflowed, ordering: .relaxed) }
        if open { signal() }
    }

    /// Flushes what subscribers can take, closes every connection and the socket (removing
    /// its file), and returns once the serving thread has ended.
    public func close() async {
        requestStop()
        guard started else { return releaseUnstarted() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ended = closing.withLock { closing in
                if !closing.ended { closing.waiters.append(continuation) }
                return closing.ended
            }
            if ended { continuation.resume() }
        }
    }

    /// `close()` for synchronous callers (tests' `defer`): blocks until the thread has ended.
    public func stop() {
        requestStop()
        guard started else { return releaseUnstarted() }
        exited.wait()
        exited.signal()  // a second stop() returns at once
    }

    /// A server closed before it ever started still gives its socket back, once.
    private func releaseUnstarted() {
        let first = closing.withLock { closing -> Bool in
            defer { closing.ended = true }
            return !closing.ended
        }
        if first { release() }
    }

    private var started: Bool { threadStarted.load(ordering: .acquiring) }

    private func requestStop() {
        state.withLock { $0.running = false }
        signal()
    }

    private func signal() {
        var byte: UInt8 = 1
        _ = write(wakeup.write, &byte, 1)  // a full pipe already means "wake up"
    }

    // MARK: Socket setup

    /// Binds and listens at `path`, replacing a stale socket file there.
    ///
    /// The socket is bound at a temporary name beside `path`, made to listen, and only then
    /// renamed to `path` (a rename keeps the socket: clients find it by its inode). A client
    /// that connects the moment the file appears (a dashboard or a unit waiting for merd) is
    /// thus never refused; bound at `path` itself, the file was there a moment before
    /// listen(), and a client that came then got ECONNREFUSED (seen in a test on a loaded
    /// machine). Where the temporary name would not fit in `sun_path`, the socket is bound
    /// at `path` directly. `beforeListening` runs between bind and listen (for tests).
    static func listen(at path: String, mode: mode_t, beforeListening: () -> Void = {}) throws(EventServerError) -> Int32 {
        guard let address = socketAddress(path) else { throw .pathTooLong(path) }
        var status = stat()
        if lstat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFSOCK else { throw .notASocket(path) }
            // A socket file: stale if nobody accepts on it, else another daemon owns it.
            let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { Glibc.close(probe) }
            let connected = withUnsafePointer(to: address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if connected == 0 { throw .inUse(path) }
            unlink(path)
        }
        // The process id keeps two daemons starting on one path apart; a file left at this name
        // by a crashed process of the same id is nobody's.
        let temporary = path + ".\(getpid()).binding"
        let (boundPath, boundAddress) = socketAddress(temporary).map { (temporary, $0) } ?? (path, address)
        if boundPath != path { unlink(boundPath) }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system(path, String(cString: strerror(errno))) }
        func fail(_ step: String) -> EventServerError {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            unlink(boundPath)
            return .system(path, "\(step): \(reason)")
        }
        let bound = withUnsafePointer(to: boundAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)  // nothing was bound: the file at boundPath, if any, is not ours
            throw .system(path, "bind: \(reason)")
        }
        chmod(boundPath, mode)
        beforeListening()
        guard Glibc.listen(descriptor, 64) == 0 else { throw fail("listen") }
        if boundPath != path, rename(boundPath, path) != 0 { throw fail("rename from \(boundPath)") }
        return descriptor
    }

    /// The `sockaddr_un` of `path`, nil where it does not fit.
    private static func socketAddress(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return address
    }

    // MARK: The loop

    /// Closes every connection, the listener and the wake pipe, and removes the socket file.
    private func release() {
        let descriptors = state.withLock { state in
            let all = Array(state.clients.keys)
            state.clients.removeAll()
            return all
        }
        for descriptor in descriptors { Glibc.close(descriptor) }
        subscribers.subtract(descriptors.count, ordering: .relaxed)
        Glibc.close(listener)
        Glibc.close(wakeup.read)
        Glibc.close(wakeup.write)
        if ownsSocketFile { unlink(configuration.path) }
    }

    private func serve() {
        defer { release() }
        var flushDeadline: ContinuousClock.Instant?
        var acceptPausedUntil: ContinuousClock.Instant?
        while true {
            let running = state.withLock { $0.running }
            var timeout: Int32 = 1000
            // A replay with room in its client's queue reads on at once.
            if running && pumpReplays() { timeout = 0 }
            if !running {
                // Closing: only the queued lines still go out, to whoever takes them in time.
                let deadline = flushDeadline ?? .now + .milliseconds(configuration.flushMilliseconds)
                flushDeadline = deadline
                let pending = state.withLock { $0.clients.values.contains { $0.hasOutput } }
                let left = deadline - .now
                guard pending, left > .zero else { return }
                timeout = Self.milliseconds(left)
            }
            if let paused = acceptPausedUntil {
                if paused <= .now { acceptPausedUntil = nil } else { timeout = min(timeout, Self.milliseconds(paused - .now)) }
            }
            let now = ContinuousClock.now
            let accepting = running && acceptPausedUntil == nil
            var polls = [pollfd(fd: listener, events: accepting ? Int16(POLLIN) : 0, revents: 0),
                         pollfd(fd: wakeup.read, events: Int16(POLLIN), revents: 0)]
            // One pass over the clients: those past their disconnection deadline are dropped
            // after it, the others polled; a client that said nothing for long enough (or is
            // being closed) gets its greeting and the events held for it.
            var expired: [Int32] = []
            state.withLock { state in
                for (descriptor, client) in state.clients where client.awaitingSubscription {
                    if client.greetingDue <= now || !running {
                        state.clients[descriptor]!.endWait()
                    } else {
                        timeout = min(timeout, Self.milliseconds(client.greetingDue - now))
                    }
                }
            }
            polls += state.withLock { state in
                state.clients.values.compactMap { client in
                    if let deadline = client.disconnectAt {
                        if deadline <= now {
                            expired.append(client.descriptor)
                            return nil
                        }
                        timeout = min(timeout, Self.milliseconds(deadline - now))
                    }
                    // Ask for POLLOUT only with bytes to send: an idle, writable socket would
                    // otherwise wake the loop at once, forever. Likewise POLLIN once the client
                    // has shut its side: end of file would be readable forever.
                    let reading = running && !client.inputClosed && client.disconnectAt == nil ? Int16(POLLIN) : 0
                    return pollfd(fd: client.descriptor, events: reading | (client.hasOutput ? Int16(POLLOUT) : 0), revents: 0)
                }
            }
            expired.forEach(drop)
            let ready = poll(&polls, nfds_t(polls.count), timeout)
            if ready < 0 && errno != EINTR { return }
            if polls[1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                while read(wakeup.read, &drain, drain.count) > 0 {}
            }
            if accepting, polls[0].revents & Int16(POLLIN) != 0, !acceptClients() {
                acceptPausedUntil = .now + Self.acceptBackoff
            }
            for entry in polls.dropFirst(2) where entry.revents != 0 {
                // Both directions closed (or an error): nobody is left to send to.
                if entry.revents & Int16(POLLHUP | POLLERR) != 0 {
                    drop(entry.fd)
                    continue
                }
                if entry.revents & Int16(POLLIN) != 0 { readFrom(entry.fd) }
                if entry.revents & Int16(POLLOUT) != 0 { writeTo(entry.fd) }
            }
        }
    }

    /// A duration as poll's timeout: whole milliseconds, at least 1, at most a second.
    private static func milliseconds(_ duration: Duration) -> Int32 {
        let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        return Int32(min(1000, max(1, value.rounded(.up))))
    }

    /// Accepts every waiting connection; false when the process is out of descriptors or
    /// memory for another (the caller pauses accepting; this is reported once per episode).
    private func acceptClients() -> Bool {
        while true {
            let descriptor = accept(listener, nil, nil)
            guard descriptor >= 0 else {
                let code = errno
                guard [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(code) else { return true }  // EAGAIN: all taken
                let first = state.withLock { state -> Bool in
                    defer { state.acceptFailing = true }
                    return !state.acceptFailing
                }
                if first {
                    configuration.report?("events socket: cannot accept a subscriber (\(String(cString: strerror(code)))); "
                                          + "new subscribers wait until descriptors free up (raise LimitNOFILE if this persists)")
                }
                return false
            }
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            if var bytes = configuration.sendBufferBytes.map(Int32.init) {
                _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &bytes, socklen_t(MemoryLayout<Int32>.size))
            }
            let recovered = state.withLock { state in
                var client = Client(descriptor: descriptor, queue: SubscriberQueue(capacity: configuration.queueCapacity),
                                    types: configuration.types, budget: ClientInputBudget(limits: configuration.inputLimits, now: .now))
                client.output = Array((state.hello + "\n").utf8)
                client.greeting = state.latestStatuses.map(\.entry)
                client.greetingDue = .now + Self.greetingWait
                state.clients[descriptor] = client
                defer { state.acceptFailing = false }
                return state.acceptFailing
            }
            subscribers.add(1, ordering: .relaxed)
            if recovered { configuration.report?("events socket: accepting subscribers again") }
        }
    }

    /// What reading a client's bytes came to.
    private enum ReadOutcome { case reading, tooLong, overBudget, gone }

    /// Reads what the subscriber sent, at most `readBytesPerTurn`, and answers each whole line
    /// within the client's budget. End of file means the client will send nothing more; it
    /// keeps receiving.
    private func readFrom(_ descriptor: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var taken = 0
        while taken < Self.readBytesPerTurn {
            let count = read(descriptor, &buffer, buffer.count)
            if count == 0 {
                state.withLock { $0.clients[descriptor]?.inputClosed = true }
                return
            }
            if count < 0 {
                if errno == EINTR { continue }
                if errno != EAGAIN { drop(descriptor) }
                return
            }
            taken += count
            let outcome = state.withLock { state -> ReadOutcome in
                guard var client = state.clients[descriptor] else { return .gone }
                defer { state.clients[descriptor] = client }
                client.input += buffer[0..<count]
                let now = ContinuousClock.now
                while let newline = client.input.firstIndex(of: 10) {
                    let line = Array(client.input[..<newline])
                    client.input.removeSubrange(...newline)
                    if line.count > Self.maximumLineBytes { return .tooLong }
                    guard client.budget.takeLine(now: now) else { return refuse(&client, now: now) }
                    if let reply = handle(line, client: &client) {
                        guard client.queue.controlCount < client.budget.limits.pendingReplies else { return refuse(&client, now: now) }
                        client.queue.pushControl(reply)
                    }
                }
                return client.input.count > Self.maximumLineBytes ? .tooLong : .reading
            }
            switch outcome {
            case .reading: continue
            case .tooLong: return drop(descriptor)
            case .overBudget, .gone: return
            }
        }

        /// Tells the client why, once, and schedules its disconnection.
        func refuse(_ client: inout Client, now: ContinuousClock.Instant) -> ReadOutcome {
            client.queue.pushControl(Self.error(client.budget.refusal))
            client.input.removeAll()
            client.disconnectAt = now + .milliseconds(configuration.flushMilliseconds)
            return .overBudget
        }
    }

    /// A subscriber's line: `{"subscribe":[types], "since": SEQ}` once, `{"metrics": true}`
    /// any time; anything else gets an error reply (and changes nothing).
    private func handle(_ line: [UInt8], client: inout Client) -> String? {
        if line.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) { return nil }
        let request: SubscribeRequest
        switch try? ClientRequest(jsonLine: line) {
        case .metrics:
            guard let metrics = configuration.metrics else { return Self.error("metrics are off in this daemon") }
            return MetricsReply(text: metrics(Counts(subscribers: subscriberCount, dropped: droppedCount))).jsonLine()
        case .subscribe(let subscription):
            request = subscription
        case nil:
            return Self.error("expected one line {\"subscribe\": [\"utterance\", \"face\", \"status\"], \"since\": SEQ} or {\"metrics\": true}")
        }
        if client.subscribed { return Self.error("already subscribed; reconnect to change the subscription") }
        if let unknown = request.types?.first(where: { !configuration.types.contains($0) }) {
            return Self.error("unknown subscribe type '\(unknown)' (known: \(configuration.types.sorted().joined(separator: ", ")))")
        }
        if request.since != nil && configuration.archive == nil {
            return Self.error("\"since\" needs the history, which is off in this daemon (history.path)")
        }
        let types = request.types.map(Set.init) ?? configuration.types
        client.types = types
        if let since = request.since {
            // What is queued comes again from the archive, in order; what was sent does not.
            client.queue.removeEvents()
            let sent = client.sentBeforeSubscribing + [client.outputSeq].compactMap { $0 }
            client.replay = Replay(cursor: since, skip: Set(sent.filter { $0 > since }))
            client.greeting = []
        } else {
            // Events queued before the subscription was read are of every type.
            client.queue.removeEvents { entry in entry.type.map(types.contains) ?? true }
        }
        client.endWait()
        client.sentBeforeSubscribing = []
        client.subscribed = true
        return nil
    }

    /// Reads the next events from the archive for each replaying client whose queue has room,
    /// and switches a client to live events once it has read all there is. True when a
    /// replay read a batch and is not done (the loop then polls without waiting).
    ///
    /// The archive is read on the serving thread, outside the lock: a read of a batch takes
    /// well under a millisecond from SQLite's page cache.
    private func pumpReplays() -> Bool {
        guard let archive = configuration.archive else { return false }
        let capacity = configuration.queueCapacity
        let wanting = state.withLock { state in
            state.clients.values.compactMap { client -> (descriptor: Int32, cursor: Int, types: Set<String>, limit: Int)? in
                guard let replay = client.replay, client.disconnectAt == nil else { return nil }
                let room = capacity - client.queue.count
                guard room >= max(1, min(64, capacity / 2)) else { return nil }  // until it reads
                return (client.descriptor, replay.cursor, client.types, min(room, Self.replayBatch))
            }
        }
        var more = false
        for wanted in wanting {
            let batch: ReplayBatch
            do {
                batch = try archive.replay(after: wanted.cursor, types: wanted.types, limit: wanted.limit)
            } catch {
                // The client learns why its replay stopped, and goes on with live events.
                state.withLock { state in
                    guard var client = state.clients[wanted.descriptor], client.replay != nil else { return }
                    client.queue.pushControl(Self.error("the replay stopped after seq \(wanted.cursor): \(error); live events follow"))
                    client.replay = nil
                    client.liveAfter = state.lastStored
                    state.clients[wanted.descriptor] = client
                }
                configuration.report?("events socket: a replay failed: \(error)")
                continue
            }
            let done = state.withLock { state -> Bool in
                guard var client = state.clients[wanted.descriptor], var replay = client.replay, replay.cursor == wanted.cursor else { return true }
                defer { state.clients[wanted.descriptor] = client }
                // Older events than the oldest kept were deleted by retention: counted, once.
                if let oldest = batch.oldest, oldest > wanted.cursor + 1 { client.queue.missed(oldest - 1 - wanted.cursor) }
                for event in batch.events where !replay.skip.contains(event.seq) {
                    client.queue.push(event.line, seq: event.seq)
                }
                replay.cursor = batch.through
                replay.skip = replay.skip.filter { $0 > batch.through }
                // Caught up: everything the archive held when last published was read, so
                // every later event is published after this point and queued live (one read
                // here and published later is not queued twice: `liveAfter`).
                if batch.events.count < wanted.limit && batch.through >= state.lastStored {
                    client.replay = nil
                    client.liveAfter = batch.through
                    return true
                }
                client.replay = replay
                return false
            }
            if !done { more = true }
        }
        return more
    }

    private static func error(_ message: String) -> String { ErrorReply(message: message).jsonLine() }

    /// Writes as much as the socket takes: the current line's rest, then queued lines. A client
    /// being disconnected goes once its refusal is out; one whose socket fails goes at once.
    private func writeTo(_ descriptor: Int32) {
        let done = state.withLock { state -> Bool in
            guard var client = state.clients[descriptor] else { return false }
            defer { state.clients[descriptor] = client }
            while true {
                if client.outputOffset == client.output.count {
                    if client.disconnectAt != nil && client.queue.controlCount == 0 { return true }
                    guard let next = client.queue.pop(events: !client.awaitingSubscription) else { return false }
                    client.output = Array((next.line + "\n").utf8)
                    client.outputOffset = 0
                    client.outputSeq = next.seq
                    if !client.subscribed, let seq = next.seq {
                        client.sentBeforeSubscribing.append(seq)
                        if client.sentBeforeSubscribing.count > Self.sentSeqLimit { client.sentBeforeSubscribing.removeFirst() }
                    }
                }
                let written = client.output[client.outputOffset...].withUnsafeBytes {
                    send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if written < 0 { return errno != EAGAIN && errno != EINTR }  // full: poll says when; else gone
                if written == 0 { return false }
                client.outputOffset += written
            }
        }
        if done { drop(descriptor) }
    }

    /// Forgets a client and closes its socket (once: a descriptor no client holds is left alone).
    private func drop(_ descriptor: Int32) {
        if state.withLock({ $0.clients.removeValue(forKey: descriptor) }) != nil {
            Glibc.close(descriptor)
            subscribers.subtract(1, ordering: .relaxed)
        }
    }
}

extension EventServer: Service {
    /// Serves until graceful shutdown (or cancellation), then closes as `close()` does.
    public func run() async throws {
        start()
        try? await gracefulShutdown()
        await close()
    }
}

/// Why the events socket could not be opened.
public enum EventServerError: Error, Equatable, CustomStringConvertible {
    case pathTooLong(String)
    case notASocket(String)
    case inUse(String)
    case system(String, String)

    public var description: String {
        switch self {
        case .pathTooLong(let path): return "\(path): socket path too long (at most 107 bytes)"
        case .notASocket(let path): return "\(path): exists and is not a socket; remove it or choose another --socket"
        case .inUse(let path): return "\(path): another process is serving events there (is merd already running?)"
        case .system(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// What `since` replays read: the stored events after a `seq` (the daemon's history).
public protocol EventArchive: Sendable {
    /// Up to `limit` events after `seq` of `types`, in order, and how far the read looked.
    func replay(after seq: Int, types: Set<String>?, limit: Int) throws -> ReplayBatch
}

extension EventHistory: EventArchive {}
