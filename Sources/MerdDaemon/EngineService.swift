import ServiceLifecycle
import StreamEngine

/// The engine's utterance loop as a service. It stands before the source supervisors in the
/// group, so at shutdown the sources stop first; then the engine finishes the utterances that
/// had already ended (the log says how many) and returns, before the events socket closes.
public struct EngineService: Service {
    public let engine: Engine
    /// Whether the last event is a `daemon stopped` status (merd run's subscribers see why
    /// the stream ends).
    public let announcesStop: Bool

    public init(engine: Engine, announcesStop: Bool = false) {
        self.engine = engine
        self.announcesStop = announcesStop
    }

    public func run() async {
        await withGracefulShutdownHandler {
            await engine.run()
        } onGracefulShutdown: {
            engine.close()
        }
        if announcesStop { engine.emit(engine.status("daemon", .stopped, "stopping")) }
    }
}
