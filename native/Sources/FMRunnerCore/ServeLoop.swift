/// The `serve` loop: one response line per request line until end of input or `shutdown`.
/// Blank lines are skipped; a malformed line is answered (bad_request) and serving continues.
public enum ServeLoop {
    /// Returns the number of requests answered.
    @discardableResult
    public static func run(reader: LineReader, writer: LineWriter, handler: RequestHandler) async -> Int {
        var answered = 0
        while let bytes = reader.nextLine() {
            let response: Response
            var keepServing = true
            if let line = String(validating: bytes, as: UTF8.self) {
                if line.allSatisfy(\.isWhitespace) { continue }
                (response, keepServing) = await handler.handle(line: line)
            } else {
                response = await handler.unreadable("request line is not valid UTF-8")
            }
            answered += 1
            guard writer.write(response.line) else {
                handler.log("stdout closed; stopping")
                break
            }
            if !keepServing { break }
        }
        return answered
    }
}
