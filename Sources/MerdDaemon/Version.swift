/// The version merd reports (`merd --version`, the `hello` event).
public enum MerdVersion {
    public static let string = "0.1.0"
}
