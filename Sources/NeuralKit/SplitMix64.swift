/// SplitMix64 (Steele, Lea, Flood 2014), seeded: training (initialisation, shuffling,
/// dropout), augmentation draws and test inputs are reproducible run to run.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The counter, for a kernel that draws many values at once (`nk_dropout`): each value is
    /// a function of the counter alone, so a loop can compute them side by side. The kernel
    /// must leave it advanced by one step per value it drew.
    public mutating func withCounter<R>(_ body: (UnsafeMutablePointer<UInt64>) -> R) -> R {
        withUnsafeMutablePointer(to: &state, body)
    }
}
