import ArgumentParser
import MerdDaemon

/// `--models DIR`, as every command that reads the models directory takes it.
struct ModelsOption: ParsableArguments {
    @Option(help: "Models directory (default: $MERD_MODELS, /var/lib/merd/models, ~/.local/share/merd/models).")
    var models: String?

    /// The directory the option, the environment or the defaults name.
    var directory: String { ModelsDirectory.resolve(models) }
}
