import ArgumentParser

/// `merd models …`: what model files hold and whether they are sound.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and download model files.",
        subcommands: [ModelsInspect.self, ModelsFetch.self])
}
