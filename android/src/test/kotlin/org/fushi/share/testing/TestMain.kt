// A minimal JUnit-free test runner for the Kotlin bindings on the JVM.
//
// Discovery: every top-level class whose name ends in `Test`, found under the
// class directories given as arguments, is a test class. Each of its public,
// no-argument methods annotated with an annotation named `Test` (this package's
// [Test], or `org.junit.Test` / `kotlin.test.Test` when those are on the classpath)
// is a test. Each test runs on a fresh instance; a thrown exception (kotlin.test
// assertion failures included) fails it. To add tests, add a `FooTest.kt` file
// with a `class FooTest` and `@Test fun ...()` methods: nothing to register.
//
// Output: one PASS/FAIL line per test with its time, a summary, and exit status 1
// when any test failed or none was found. `-Dfushi.test.filter=substring` runs
// only the tests whose `Class.method` name contains the substring.
package org.fushi.share.testing

import org.fushi.share.core.*
import java.io.File
import java.lang.reflect.InvocationTargetException
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import kotlin.system.exitProcess

/** Marks a test method for [main]. */
@Retention(AnnotationRetention.RUNTIME)
@Target(AnnotationTarget.FUNCTION)
annotation class Test

private fun discoverClasses(roots: List<File>): List<Class<*>> =
    roots.flatMap { root ->
        root.walkTopDown()
            .filter { it.isFile && it.name.endsWith("Test.class") && '$' !in it.name }
            .map { file ->
                file.relativeTo(root).path.removeSuffix(".class").replace(File.separatorChar, '.')
            }
            .toList()
    }.sorted().map { Class.forName(it) }

private fun isTest(m: Method): Boolean =
    Modifier.isPublic(m.modifiers) && !Modifier.isStatic(m.modifiers) && m.parameterCount == 0 &&
        m.annotations.any { it.annotationClass.java.simpleName == "Test" }

fun main(args: Array<String>) {
    if (args.isEmpty()) {
        System.err.println("usage: TestMain <class dir>...")
        exitProcess(2)
    }
    val filter = System.getProperty("fushi.test.filter").orEmpty()
    val failures = mutableListOf<Pair<String, Throwable>>()
    var passed = 0
    for (cls in discoverClasses(args.map(::File))) {
        for (method in cls.methods.filter(::isTest).sortedBy { it.name }) {
            val name = "${cls.simpleName}.${method.name}"
            if (filter.isNotEmpty() && filter !in name) continue
            val start = System.nanoTime()
            val error: Throwable? = try {
                method.invoke(cls.getDeclaredConstructor().newInstance())
                null
            } catch (e: InvocationTargetException) {
                e.targetException
            } catch (e: Throwable) {
                e
            }
            val ms = (System.nanoTime() - start) / 1_000_000
            if (error == null) {
                passed++
                println("PASS  $name (${ms} ms)")
            } else {
                failures += name to error
                println("FAIL  $name (${ms} ms): $error")
            }
        }
    }
    for ((name, error) in failures) {
        System.err.println("\n--- $name ---")
        error.printStackTrace()
    }
    val total = passed + failures.size
    println("\nKotlin tests: $total run, $passed passed, ${failures.size} failed")
    if (total == 0) {
        System.err.println("no tests found (classes named *Test with @Test methods)")
        exitProcess(1)
    }
    // Exit explicitly: JNA / coroutine threads must not keep the JVM alive.
    exitProcess(if (failures.isEmpty()) 0 else 1)
}
