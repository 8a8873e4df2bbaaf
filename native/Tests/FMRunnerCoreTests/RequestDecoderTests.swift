@testable import FMRunnerCore
import XCTest

final class RequestDecoderTests: XCTestCase {
    func failure(_ line: String) -> DecodeFailure? {
        if case .failure(let f) = RequestDecoder.decode(line) { return f }
        return nil
    }

    func testDecodesAFullGenerateRequest() throws {
        let line = #"""
            {"id":"g1","op":"generate","instructions":"Be brief.","prompt":"plan a trip",
             "sampling":{"mode":"random","temperature":0.7,"top_k":40,"top_p":null,"seed":42},
             "max_output_tokens":256,"adapter":{"path":"/a.fmadapter","format":"fmadapter"},
             "output":{"kind":"json_schema","schema":{"type":"object","properties":{}}},"timeout_s":30}
            """#.replacingOccurrences(of: "\n", with: "")
        let request = try RequestDecoder.decode(line).get()
        XCTAssertEqual(request.id, "g1")
        XCTAssertEqual(request.op, .generate)
        XCTAssertEqual(request.instructions, "Be brief.")
        XCTAssertEqual(request.sampling, Sampling(mode: .random, temperature: 0.7, topK: 40, seed: 42))
        XCTAssertEqual(request.maxOutputTokens, 256)
        XCTAssertEqual(request.adapter, AdapterRef(path: "/a.fmadapter", format: .fmadapter))
        XCTAssertEqual(request.output?.kind, .jsonSchema)
        XCTAssertEqual(request.timeoutS, 30)
    }

    func testNullFieldsAreAbsentAndSamplingDefaultsToGreedy() throws {
        let line = #"{"id":"p","op":"generate","prompt":"x","instructions":null,"sampling":null,"max_output_tokens":null,"adapter":null,"output":null,"timeout_s":null}"#
        let request = try RequestDecoder.decode(line).get()
        XCTAssertNil(request.sampling)
        XCTAssertEqual(request.effectiveSampling, .greedy)
        XCTAssertNil(request.jsonSchema)
    }

    func testMalformedLinesAreBadRequestsWithoutId() {
        for line in ["not json", "[1,2]", "\"text\"", "{\"id\": \"x\""] {
            let f = failure(line)
            XCTAssertNotNil(f, line)
            XCTAssertNil(f?.id, line)
            XCTAssertEqual(f?.error.code, .badRequest, line)
        }
    }

    func testUnknownOrMissingOpIsUnknownOpAndKeepsTheId() {
        XCTAssertEqual(failure(#"{"id":"u1","op":"dance"}"#)?.error.code, .unknownOp)
        XCTAssertEqual(failure(#"{"id":"u1","op":"dance"}"#)?.id, "u1")
        XCTAssertEqual(failure(#"{"id":"u2"}"#)?.error.code, .unknownOp)
        XCTAssertEqual(failure(#"{"id":"u3","op":7}"#)?.error.code, .unknownOp)
    }

    func testSchemaViolationsAreBadRequestsThatKeepTheId() {
        let cases = [
            #"{"op":"probe"}"#,
            #"{"id":"","op":"probe"}"#,
            #"{"id":"b","op":"probe","extra":1}"#,
            #"{"id":"b","op":"generate"}"#,
            #"{"id":"b","op":"generate","prompt":5}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"mode":"hot"}}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"temperature":1}}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"mode":"random","temperature":3}}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"mode":"random","top_k":0}}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"mode":"random","top_p":0}}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"mode":"random","seed":-1}}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"mode":"random","top_k":5,"top_p":0.9}}"#,
            #"{"id":"b","op":"generate","prompt":"x","sampling":{"mode":"greedy","beam":2}}"#,
            #"{"id":"b","op":"generate","prompt":"x","max_output_tokens":0}"#,
            #"{"id":"b","op":"generate","prompt":"x","max_output_tokens":1.5}"#,
            #"{"id":"b","op":"generate","prompt":"x","adapter":{"path":"","format":"fmadapter"}}"#,
            #"{"id":"b","op":"generate","prompt":"x","adapter":{"path":"/a","format":"zip"}}"#,
            #"{"id":"b","op":"generate","prompt":"x","output":{"kind":"xml"}}"#,
            #"{"id":"b","op":"generate","prompt":"x","output":{"kind":"json_schema"}}"#,
            #"{"id":"b","op":"generate","prompt":"x","output":{"kind":"json_schema","schema":[1]}}"#,
            #"{"id":"b","op":"generate","prompt":"x","timeout_s":0}"#,
        ]
        for line in cases {
            let f = failure(line)
            XCTAssertEqual(f?.error.code, .badRequest, line)
            if line.contains(#""id":"b""#) { XCTAssertEqual(f?.id, "b", line) }
        }
    }

    func testIntegralFloatsCountAsIntegers() throws {
        let request = try RequestDecoder.decode(#"{"id":"i","op":"generate","prompt":"x","max_output_tokens":64.0,"sampling":{"mode":"random","seed":3.0}}"#).get()
        XCTAssertEqual(request.maxOutputTokens, 64)
        XCTAssertEqual(request.sampling?.seed, 3)
    }
}
