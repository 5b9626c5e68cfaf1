// swift-tools-version:5.9
// Fushi Share for iOS: the Rust core (fushi-ffi) as an XCFramework plus the
// uniffi-generated Swift bindings. Build the framework and the bindings first:
//
//     ios/build-xcframework.sh
//
// which writes ios/FushiShareFFI.xcframework (the static libraries, with the C
// modules FushiShareFFI and FushiShareCoreFFI) and ios/Sources/FushiShare/FushiShare.swift
// and FushiShareCore.swift (the store and the core's records; all generated, git-ignored). The framework holds iOS slices only, so run the
// tests on a simulator, from ios/:
//
//     xcodebuild test -scheme FushiShare -destination 'platform=iOS Simulator,name=iPhone 15'
import PackageDescription

let package = Package(
    name: "FushiShare",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "FushiShare", targets: ["FushiShare"]),
    ],
    targets: [
        // The static libraries (device + simulator) with the C header and module map
        // of the FFI layer: module `FushiShareFFI`.
        .binaryTarget(name: "FushiShareFFI", path: "FushiShareFFI.xcframework"),
        // The generated Swift API (module `FushiShare`).
        .target(
            name: "FushiShare",
            dependencies: ["FushiShareFFI"],
            path: "Sources/FushiShare"
        ),
        .testTarget(
            name: "FushiShareTests",
            dependencies: ["FushiShare"],
            path: "Tests/FushiShareTests"
        ),
    ]
)
