// A resident photographs a chair at home and posts it: the photo leaves the
// phone stripped of its GPS position, follows the listing to the server in
// the background, reaches a neighbour (thumbnail first) and is erased
// everywhere when the listing is deleted.
package org.fushi.share

import org.fushi.share.core.*
import kotlinx.coroutines.runBlocking
import org.fushi.share.testing.Test
import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.io.File
import javax.imageio.ImageIO
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/** A camera-style JPEG: encoded by the JVM, with an EXIF block carrying a GPS position. */
private fun cameraJpeg(seed: Int, w: Int = 480, h: Int = 360): ByteArray {
    val img = BufferedImage(w, h, BufferedImage.TYPE_INT_RGB)
    val rnd = java.util.Random(seed.toLong())
    for (y in 0 until h) for (x in 0 until w) {
        val n = rnd.nextInt(48)
        img.setRGB(x, y, ((x * 200 / w + n) shl 16) or ((y * 200 / h + n) shl 8) or (seed * 40 and 0xFF))
    }
    val out = ByteArrayOutputStream()
    ImageIO.write(img, "jpg", out)
    val plain = out.toByteArray()
    val exif = "Exif\u0000\u0000".toByteArray(Charsets.ISO_8859_1) +
        byteArrayOf(0x4D, 0x4D, 0, 0x2A, 0, 0, 0, 8) +
        "GPSLatitude=31/1,13/1,4812/100 N".toByteArray(Charsets.ISO_8859_1)
    val len = exif.size + 2
    val app1 = byteArrayOf(0xFF.toByte(), 0xE1.toByte(), (len shr 8).toByte(), (len and 0xFF).toByte()) + exif
    // Right after the start-of-image marker, as a camera writes it.
    return plain.copyOfRange(0, 2) + app1 + plain.copyOfRange(2, plain.size)
}

private fun ByteArray.has(needle: String): Boolean =
    String(this, Charsets.ISO_8859_1).contains(needle)

private fun PhotoView.bytes(): ByteArray = when (this) {
    is PhotoView.Ready -> bytes
    else -> error("not ready: $this")
}

class PhotosStoryTest {
    @Test
    fun photosPostedAsBytesAndFilesFollowTheListingAndAreErasedWithIt() = runBlocking {
        TestServer().use { server ->
            val li = server.issue(Role.RESIDENT)
            val wang = server.issue(Role.RESIDENT)
            server.start()
            server.phone(li).use { mine ->
                server.phone(wang).use { his ->
                    // One photo as bytes, one as the camera's file.
                    val camera = cameraJpeg(1)
                    assertTrue(camera.has("GPSLatitude"))
                    val chair = mine.postItemWithPhotos(bicycle("椅子"), listOf(camera))
                    val file = File(tempDir(), "IMG_0002.jpg").apply { writeBytes(cameraJpeg(2)) }
                    val lamp = mine.postItemWithPhotoFiles(bicycle("台灯"), listOf(file.path))
                    val added = mine.addItemPhotos(lamp, listOf(cameraJpeg(3)))
                    assertEquals(1, added.size)
                    val ref = mine.item(chair).photos.single()
                    assertTrue(ref.startsWith("sha256:"))
                    assertEquals(2, mine.item(lamp).photos.size)
                    // Shown at once, offline, without its position.
                    val shown = mine.photo(ref, PhotoSize.FULL).bytes()
                    assertTrue(!shown.has("GPSLatitude") && !shown.has("Exif"))
                    // Not an image: refused with its reason.
                    val bad = assertFailsWith<FushiException.InvalidInput> {
                        mine.postItemWithPhotos(bicycle("x"), listOf("hello".toByteArray()))
                    }
                    assertEquals("photos", bad.field)
                    val queued = mine.photoTransfers()
                    assertEquals(3uL, queued.queuedUploads)
                    assertTrue(queued.queuedUploadBytes > 0uL)

                    // The sync sends the rows, then the photos.
                    val report = mine.sync()
                    assertEquals(3u, report.photosUploaded)
                    val done = mine.photoTransfers()
                    assertEquals(0uL, done.queuedUploads)
                    assertEquals(3uL, done.uploaded)
                    assertEquals(queued.queuedUploadBytes, done.uploadedBytes)
                    assertEquals(0uL, done.inFlight)

                    // The neighbour: the listing first, the photo on demand, thumbnail first.
                    his.sync()
                    assertEquals(PhotoView.NotDownloaded, his.photo(ref, PhotoSize.THUMB))
                    val thumb = his.fetchPhoto(ref, PhotoSize.THUMB)
                    assertTrue(thumb is PhotoView.Ready && thumb.size == PhotoSize.THUMB)
                    val full = his.fetchPhoto(ref, PhotoSize.FULL).bytes()
                    assertTrue(full.contentEquals(shown))
                    assertEquals(2u, his.prefetchThumbnails(10u))
                    val got = his.photoTransfers()
                    assertEquals(4uL, got.downloaded)
                    assertEquals(0uL, got.queuedDownloads)
                    his.setPhotoCacheBudget(50_000_000uL)
                    assertEquals(50_000_000uL, his.photoCacheBudget())

                    // Deleted: erased on her phone, the server, and his phone at his next sync.
                    mine.deleteListing(ListingKind.ITEM, chair)
                    assertEquals(PhotoView.NotDownloaded, mine.photo(ref, PhotoSize.FULL))
                    mine.sync()
                    val after = his.sync()
                    assertEquals(1u, after.photosErased)
                    assertEquals(PhotoView.NotDownloaded, his.photo(ref, PhotoSize.FULL))
                    assertEquals(PhotoView.NotDownloaded, his.photo(ref, PhotoSize.THUMB))
                }
            }
        }
    }
}
