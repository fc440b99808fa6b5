/// Why a fusion model cannot take the running one's place (`Engine.replaceFusion`); the
/// running one decodes on.
public enum FusionReplacementError: Error, Equatable, CustomStringConvertible {
    /// Its labels, or their order, are not those of the events subscribers were told of.
    case labels(running: [String], new: [String])
    /// It reads inputs this run does not compute (and was not trained to do without).
    case inputs(missing: [String], computed: [String])

    public var description: String {
        switch self {
        case .labels(let running, let new):
            return "its labels \(new) are not the running ones \(running), which subscribers read from hello; restart merd to change them"
        case .inputs(let missing, let computed):
            return "it reads \(missing), which this run does not compute (it computes \(computed)); "
                + "train it on this run's layers and face models, or change them in merd.toml and restart"
        }
    }
}
