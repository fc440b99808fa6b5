import ArgumentParser

/// `merd models …`: what model files hold and whether they are sound.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect model files.",
        subcommands: [ModelsInspect.self])
}
