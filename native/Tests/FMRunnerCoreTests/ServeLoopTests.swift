@testable import FMRunnerCore
import XCTest

final class ServeLoopTests: XCTestCase {
    /// Feeds `input` through a pipe into the serve loop and returns the response lines it wrote to a pipe.
    func serve(_ input: [UInt8], backend: any GenerationBackend = MockBackend()) async throws -> (lines: [JSONObject], answered: Int) {
        let stdin = Pipe(), stdout = Pipe()
        try stdin.fileHandleForWriting.write(contentsOf: Data(input))
        try stdin.fileHandleForWriting.close()
        let answered = await ServeLoop.run(reader: LineReader(handle: stdin.fileHandleForReading),
                                           writer: LineWriter(handle: stdout.fileHandleForWriting),
                                           handler: RequestHandler(backend: backend))
        try stdout.fileHandleForWriting.close()
        let output = String(decoding: try stdout.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
        let lines = try output.split(separator: "\n").map { try XCTUnwrap(JSONValue.parse(String($0)).objectValue) }
        return (lines, answered)
    }

    func testContinuesAfterABadLineAndStopsAtShutdown() async throws {
        let input = [
            #"{"id":"1","op":"probe"}"#,
            "this is not json",
            "",
            #"{"id":"2","op":"launch"}"#,
            #"{"id":"3","op":"generate","prompt":"plan a trip to Rome","output":{"kind":"json_schema","schema":{"type":"object","properties":{"title":{"type":"string"},"questions":{"type":"array","items":{"type":"string"},"minItems":7,"maxItems":7}}}}}"#,
            #"{"id":"4","op":"shutdown"}"#,
            #"{"id":"5","op":"probe"}"#,
        ].joined(separator: "\n") + "\n"
        let (lines, answered) = try await serve(Array(input.utf8))
        XCTAssertEqual(answered, 5)
        XCTAssertEqual(lines.map { $0["id"] }, ["1", .null, "2", "3", "4"])
        XCTAssertEqual(lines.map { $0["ok"] }, [true, false, false, true, true])
        XCTAssertEqual(lines[1]["error"]?.objectValue?["code"], "bad_request")
        XCTAssertEqual(lines[2]["error"]?.objectValue?["code"], "unknown_op")
        XCTAssertEqual(lines[3]["json"]?.objectValue?["questions"]?.arrayValue?.count, 7)
    }

    func testInvalidUTF8CRLFAndAMissingFinalNewline() async throws {
        var input: [UInt8] = Array(#"{"id":"a","op":"probe"}"#.utf8) + [0x0D, 0x0A]
        input += [0xFF, 0xFE, 0x0A]
        input += Array(#"{"id":"b","op":"probe"}"#.utf8)
        let (lines, _) = try await serve(input)
        XCTAssertEqual(lines.map { $0["id"] }, ["a", .null, "b"])
        XCTAssertEqual(lines[1]["error"]?.objectValue?["code"], "bad_request")
    }

    func testEndOfInputEndsServing() async throws {
        let (lines, answered) = try await serve([])
        XCTAssertTrue(lines.isEmpty)
        XCTAssertEqual(answered, 0)
    }
}
