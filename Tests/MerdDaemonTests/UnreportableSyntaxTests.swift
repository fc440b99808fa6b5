@testable import MerdDaemon
import Testing

/// What toml++ asserts on instead of reporting (found by scripts/fuzz), caught first.
@Suite("Syntax errors toml++ cannot report")
struct UnreportableSyntaxTests {
    @Test("a header name starting with a character TOML does not allow, or a } where an array expects an element, is found with its line and column")
    func found() {
        let cases: [(String, Int, Int)] = [
            ("[?a]", 1, 2), ("[ ?a]", 1, 3), ("[[#x]]", 1, 3), ("[", 1, 2), ("[\r\n", 1, 2), ("[é]", 1, 2),
            ("[socket]\nmode = \"0660\"\n  [ ?]\n", 3, 5),
            // A comment holding quotes does not hide the next line's header (the fuzzer's second find).
            ("# say \"\"\" here\n[?x]\n", 2, 2),
            ("a = 'it''s'\n[?]\n", 2, 2),
            // A '}' where an array expects an element (the fuzzer's third find), nested or after a comment.
            ("a = [}]", 1, 6), ("a = [1, }]", 1, 9), ("a = [1, #c\n }]", 2, 2), ("a = {b=[}]}", 1, 9), ("a = [[}]]", 1, 7),
            ("[models]\nlayers= [19, 9, },9]", 2, 17),
        ]
        for (text, line, column) in cases {
            let found = DaemonConfiguration.unreportableSyntax(in: text)
            #expect(found?.line == line && found?.column == column, "\(text.debugDescription): \(String(describing: found))")
        }
    }

    @Test("valid headers, and brackets inside strings, comments and arrays, pass")
    func passes() {
        for text in ["[engine]\nface_fps = 10\n", "[ \"quoted key\" ]\n", "['literal']\n", "[[array]]\n", "[]\n", "[ ]\n", "[a-b_1.c]\n",
                     "x = \"\"\"\n[?not a header]\n\"\"\"\n", "y = '''\n[#\n'''\n", "# [?comment]\n", "z = [\n  [1, 2],\n]\n",
                     "w = \"[?\"\n", "v = \"\"\"a\\\n[ok]\"\"\"\n",
                     "a = [1, 2]\nb = {c = [3], d = 4}\n", "a = [\n  [1, 2],\n  [3],\n]\n[next]\n", "a = [1 }\n", "s = \"}\"\nt = [\"}\"]\n"] {
            #expect(DaemonConfiguration.unreportableSyntax(in: text) == nil, "\(text.debugDescription)")
        }
    }
}
