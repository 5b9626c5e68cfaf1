// Android library: the Rust core (fushi-ffi) as .so files per ABI, plus the
// uniffi-generated Kotlin bindings (the store in package org.fushi.share, the core's
// records and enums in org.fushi.share.core).
//
// Needs, besides the Android SDK + NDK (ANDROID_NDK_HOME or ndk.dir):
//   cargo install cargo-ndk
//   rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
//
// The JVM tests in src/test/kotlin are run without Gradle by scripts/kotlin-test.sh
// (a JUnit-free runner; see src/test/kotlin/org/fushi/share/testing/TestMain.kt).
import org.gradle.api.tasks.Exec

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

/** The cargo workspace root (this module lives in <root>/android). */
val repoRoot: File = rootDir.parentFile
val cargoTargetDir: File =
    System.getenv("CARGO_TARGET_DIR")?.let(::File) ?: repoRoot.resolve("target")
val jniLibsDir: File = layout.buildDirectory.dir("rustJniLibs").get().asFile
val generatedKotlinDir: File = layout.buildDirectory.dir("generated/uniffi/kotlin").get().asFile

android {
    namespace = "org.fushi.share"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets {
        getByName("main") {
            jniLibs.srcDir(jniLibsDir)
            java.srcDir(generatedKotlinDir)
        }
    }

    packaging {
        // Keep symbols for crash reports in the AAR; the app's build strips them.
        jniLibs.keepDebugSymbols += "**/libfushi_ffi.so"
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // uniffi's Kotlin bindings call the .so through JNA; the @aar variant ships the
    // JNA native dispatch libraries for Android ABIs.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // HTTPS with the platform's trust store (SyncSettings.caCertificatePem = null)
    // needs the Kotlin component of rustls-platform-verifier, from the Maven
    // repository that project publishes (add it to settings.gradle.kts), at the
    // version of `rustls-platform-verifier-android` in Cargo.lock, and
    // FushiTls.init(context) at app start. See android/README.md. Not verified
    // here (no Android SDK on the development machine):
    // implementation("rustls:rustls-platform-verifier:0.2.0")
    testImplementation(kotlin("test"))
}

/** Builds libfushi_ffi.so for each ABI with cargo-ndk (release-mobile profile). */
val cargoBuildAndroid by tasks.registering(Exec::class) {
    group = "rust"
    description = "Builds libfushi_ffi.so for arm64-v8a, armeabi-v7a and x86_64 with cargo-ndk"
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "--platform", "24",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniLibsDir.absolutePath,
        "build", "--profile", "release-mobile", "-p", "fushi-ffi",
    )
    inputs.dir(repoRoot.resolve("core/src"))
    inputs.dir(repoRoot.resolve("bindings/src"))
    inputs.files(
        repoRoot.resolve("Cargo.toml"),
        repoRoot.resolve("Cargo.lock"),
        repoRoot.resolve("core/Cargo.toml"),
        repoRoot.resolve("bindings/Cargo.toml"),
    )
    outputs.dir(jniLibsDir)
}

/**
 * Generates the Kotlin bindings from the arm64 library (the metadata is the same in
 * every ABI). Package and library names come from bindings/uniffi.toml and core/uniffi.toml.
 */
val generateUniffiBindings by tasks.registering(Exec::class) {
    group = "rust"
    description = "Generates the uniffi Kotlin bindings into build/generated/uniffi/kotlin"
    dependsOn(cargoBuildAndroid)
    workingDir = repoRoot
    val library = cargoTargetDir.resolve("aarch64-linux-android/release-mobile/libfushi_ffi.so")
    commandLine(
        "cargo", "run", "-p", "uniffi-bindgen", "--",
        "generate", library.absolutePath,
        "--language", "kotlin",
        "--out-dir", generatedKotlinDir.absolutePath,
        "--no-format", "--metadata-no-deps",
    )
    inputs.file(library)
    inputs.file(repoRoot.resolve("bindings/uniffi.toml"))
    inputs.file(repoRoot.resolve("core/uniffi.toml"))
    outputs.dir(generatedKotlinDir)
    doFirst { delete(generatedKotlinDir) }
}

tasks.named("preBuild") {
    dependsOn(generateUniffiBindings)
}
