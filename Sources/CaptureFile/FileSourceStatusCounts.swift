import MediaTypes

extension FileVideoSource {
    /// Frames skipped because the consumer was late (real-time replay only).
    public var statusCounts: SourceStatusCounts { SourceStatusCounts(droppedFrames: file.droppedFrames) }
}
