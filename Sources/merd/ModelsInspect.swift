import ArgumentParser
import NeuralKit

/// `merd models inspect FILE`: the tensors of a safetensors file, or what is wrong with it.
struct ModelsInspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors (name, dtype, shape) of a safetensors file, validating it.")

    @Argument(help: "A .safetensors file.")
    var file: String

    func run() async throws {
        let model: SafeTensorsFile
        do {
            model = try SafeTensorsFile(path: file)
        } catch .notFound {
            throw CommandFailure.usage(SafeTensorsError.notFound(file: file).description)
        } catch {
            throw CommandFailure.runtime(error.description)
        }
        print(ModelsInspect.listing(of: model), terminator: "")
    }

    /// One line per tensor in file order, aligned, then a total.
    static func listing(of model: SafeTensorsFile) -> String {
        let nameWidth = max(4, model.entries.map(\.name.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var text = "\(pad("name", nameWidth))  dtype    shape\n"
        var elements = 0
        for entry in model.entries {
            text += "\(pad(entry.name, nameWidth))  \(pad(entry.dtype.rawValue, 7))  [\(entry.shape.map(String.init).joined(separator: ", "))]\n"
            elements += entry.shape.reduce(1, *)
        }
        for key in model.metadata.keys.sorted() {
            text += "metadata \(key): \(model.metadata[key]!)\n"
        }
        text += "\(model.entries.count) tensors, \(elements) elements, \(model.fileBytes) bytes\n"
        return text
    }
}
