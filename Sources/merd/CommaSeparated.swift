import Foundation

/// Option values written as comma-separated lists (`--layers 18,19,20`, `--seconds 1,4,10`):
/// every item must parse, or the whole value is refused with the option named — a typo never
/// silently shortens the list.
enum CommaSeparated {
    /// The items of `text`, each through `parse`; `what` says what the option takes, e.g.
    /// "whole numbers, e.g. 18,19,20".
    static func values<Value>(_ text: String, option: String, what: String,
                              _ parse: (String) -> Value?) throws(CommandFailure) -> [Value] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var values: [Value] = []
        for item in items {
            guard let value = parse(item) else {
                throw .usage("\(option) takes \(what); '\(item)' in '\(text)' is not one")
            }
            values.append(value)
        }
        return values
    }

    /// HuBERT hidden-state numbers: distinct whole numbers from 0.
    static func layers(_ text: String, option: String = "--layers") throws(CommandFailure) -> [Int] {
        let layers = try values(text, option: option, what: "distinct whole numbers, e.g. 18,19,20") { Int($0).flatMap { $0 >= 0 ? $0 : nil } }
        guard Set(layers).count == layers.count else { throw .usage("\(option) names a layer twice in '\(text)'") }
        return layers
    }
}
