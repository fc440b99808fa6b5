/// The version merd reports (`merd --version`, the `hello` event).
package enum MerdVersion {
    package static let string = "0.1.0"
}
