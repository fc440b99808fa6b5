@testable import MerdDaemon
import Testing

/// The table names toml++ asserts on instead of reporting (found by scripts/fuzz), caught first.
@Suite("Table headers toml++ cannot report")
struct TableHeaderCheckTests {
    @Test("a header name starting with a character TOML does not allow is found, with its line and column")
    func found() {
        let cases: [(String, Int, Int)] = [
            ("[?a]", 1, 2), ("[ ?a]", 1, 3), ("[[#x]]", 1, 3), ("[", 1, 2), ("[\r\n", 1, 2), ("[é]", 1, 2),
            ("[socket]\nmode = \"0660\"\n  [ ?]\n", 3, 5),
            // A comment holding quotes does not hide the next line's header (the fuzzer's second find).
            ("# say \"\"\" here\n[?x]\n", 2, 2),
            ("a = 'it''s'\n[?]\n", 2, 2),
        ]
        for (text, line, column) in cases {
            let found = DaemonConfiguration.badTableHeader(in: text)
            #expect(found?.line == line && found?.column == column, "\(text.debugDescription): \(String(describing: found))")
        }
    }

    @Test("valid headers, and brackets inside strings, comments and arrays, pass")
    func passes() {
        for text in ["[engine]\nface_fps = 10\n", "[ \"quoted key\" ]\n", "['literal']\n", "[[array]]\n", "[]\n", "[ ]\n", "[a-b_1.c]\n",
                     "x = \"\"\"\n[?not a header]\n\"\"\"\n", "y = '''\n[#\n'''\n", "# [?comment]\n", "z = [\n  [1, 2],\n]\n",
                     "w = \"[?\"\n", "v = \"\"\"a\\\n[ok]\"\"\"\n"] {
            #expect(DaemonConfiguration.badTableHeader(in: text) == nil, "\(text.debugDescription)")
        }
    }
}
