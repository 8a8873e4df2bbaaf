@testable import FMRunnerCore
import XCTest

final class JSONTests: XCTestCase {
    func testParsesAllKindsAndKeepsKeyOrder() throws {
        let value = try JSONValue.parse(#" {"z": 1, "a": [true, false, null], "m": -2.5e1, "s": "x\"\u00e9\ud83d\ude00\n"} "#)
        let object = try XCTUnwrap(value.objectValue)
        XCTAssertEqual(object.keys, ["z", "a", "m", "s"])
        XCTAssertEqual(object["z"], .int(1))
        XCTAssertEqual(object["a"], [true, false, nil])
        XCTAssertEqual(object["m"], .double(-25))
        XCTAssertEqual(object["s"], .string("x\"é😀\n"))
    }

    func testRoundTripsThroughTheWriter() throws {
        let text = #"{"b":[1,2.5,"é\n\t\"\\",{"c":null}],"a":true}"#
        XCTAssertEqual(JSONWriter.write(try JSONValue.parse(text)), text)
        XCTAssertEqual(JSONWriter.write(.string("\u{01}")), #""\u0001""#)
        XCTAssertEqual(JSONWriter.write(.double(.nan)), "null")
    }

    func testRejectsMalformedJSON() {
        for bad in ["", "{", "{\"a\":}", "[1,]", "01", "1.", "tru", "\"\\x\"", "{\"a\":1} x", "\"\u{01}\"", "\"\\ud800\""] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
    }

    func testIntegerAccessorAcceptsIntegralNumbers() throws {
        XCTAssertEqual(try JSONValue.parse("7.0").intValue, 7)
        XCTAssertNil(try JSONValue.parse("7.5").intValue)
        XCTAssertEqual(try JSONValue.parse("1e2").intValue, 100)
    }

    func testDeepNestingIsAnErrorNotACrash() {
        XCTAssertThrowsError(try JSONValue.parse(String(repeating: "[", count: 10_000)))
    }
}
