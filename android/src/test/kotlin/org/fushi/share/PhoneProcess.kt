// A phone as a process of its own, for KilledPhoneStoryTest: opens a store
// file and syncs it, printing its progress, until the test kills it.
//
//   java -cp <test classpath> org.fushi.share.PhoneProcessKt \
//       <store file> <server url> <token> <user id> <role> <community> <push batch> <pull limit> <CA PEM file>
//
// Prints `pending N` once when it starts, again each time the outbox shrinks
// (a push batch was acknowledged), and `synced` when a sync finished.
package org.fushi.share

import org.fushi.share.core.*
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    require(args.size == 9) { "usage: PhoneProcessKt <file> <url> <token> <user> <role> <community> <push batch> <pull limit> <CA PEM file>" }
    val (file, url, token, userId, role, community) = args
    val settings = SyncSettings(
        serverUrl = url,
        token = token,
        pushBatch = args[6].toUInt(),
        pullLimit = args[7].toUInt(),
        caCertificatePem = java.io.File(args[8]).readText(),
    )
    val store = FushiStore.open(file, settings)
    store.setUser(User(userId = userId, role = Role.valueOf(role), community = community))
    var last = store.pendingChanges()
    println("pending $last")
    Thread {
        while (true) {
            val now = store.pendingChanges()
            if (now != last) {
                last = now
                println("pending $now")
            }
            Thread.sleep(2)
        }
    }.apply { isDaemon = true; start() }
    store.syncBlocking()
    println("synced")
    System.out.flush()
    exitProcess(0)
}

private operator fun <T> Array<T>.component6(): T = this[5]
