import ArgumentParser
import NeuralKit

/// `merd models inspect FILE`: the tensors of a checkpoint (safetensors, or a PyTorch
/// `.bin`/`.pt`/`.pth`), or what is wrong with it.
struct ModelsInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors (name, dtype, shape) of a safetensors or PyTorch checkpoint, validating it.")

    @Argument(help: "A .safetensors file, or a PyTorch .bin/.pt/.pth written by torch.save.")
    var file: String

    func run() async throws {
        let model: any CheckpointFile
        do {
            model = try openCheckpoint(path: file)
        } catch .notFound {
            throw CommandFailure.usage(SafeTensorsError.notFound(file: file).description)
        } catch {
            throw CommandFailure.runtime(error.description)
        }
        print(ModelsInspect.listing(of: model), terminator: "")
    }

    /// One line per tensor in file order, aligned, then what else the file says and a total.
    static func listing(of model: any CheckpointFile) -> String {
        let headers = model.headers
        let nameWidth = max(4, headers.map(\.name.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var text = "\(pad("name", nameWidth))  dtype    shape\n"
        var elements = 0
        for header in headers {
            text += "\(pad(header.name, nameWidth))  \(pad(header.dtype.rawValue, 7))  [\(header.shape.map(String.init).joined(separator: ", "))]\n"
            elements += header.shape.reduce(1, *)
        }
        if let safeTensors = model as? SafeTensorsFile {
            for key in safeTensors.metadata.keys.sorted() {
                text += "metadata \(key): \(safeTensors.metadata[key]!)\n"
            }
        }
        if let torch = model as? TorchCheckpoint {
            text += "pytorch checkpoint: \(torch.contents), archive folder '\(torch.archiveFolder)'\n"
        }
        text += "\(headers.count) tensors, \(elements) elements, \(model.fileBytes) bytes\n"
        return text
    }
}
