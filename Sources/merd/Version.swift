/// The version merd reports (`merd --version`, the `hello` event).
enum MerdVersion {
    static let string = "0.1.0"
}
