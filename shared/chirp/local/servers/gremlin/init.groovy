// Gremlin Server init script: binds the traversal source "g" (what Neptune exposes) to the TinkerGraph "graph".
//
// With -Dchirp.graph.snapshot=<file> (a persistent server set, tests/servers/harness.py) the graph outlives the
// server: it is loaded from <file> here, before the server accepts requests, and written back a second after any
// change (an EventStrategy on "g" notes every mutation) and at a clean shutdown. Each write goes to a scratch file,
// is read back into an empty TinkerGraph (a write that raced a mutation may not load: it is dropped and done again),
// fsynced and renamed over <file>, so <file> always holds a whole graph. A crash loses the changes of the last
// second. (TinkerGraph's own gremlin.tinkergraph.graphLocation writes only at close, deleting the file first.) The
// format is GraphSON 3, typed (ids and values keep their types): Gryo would need --add-opens flags on Java 17.
import java.nio.channels.FileChannel
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.Paths
import java.nio.file.StandardCopyOption
import java.nio.file.StandardOpenOption
import java.util.concurrent.Executors
import java.util.concurrent.ThreadFactory
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import org.apache.tinkerpop.gremlin.process.traversal.step.util.event.MutationListener
import org.apache.tinkerpop.gremlin.process.traversal.strategy.decoration.EventStrategy
import org.apache.tinkerpop.gremlin.server.util.LifeCycleHook
import org.apache.tinkerpop.gremlin.structure.io.IoCore
import org.apache.tinkerpop.gremlin.tinkergraph.structure.TinkerGraph
import org.slf4j.LoggerFactory

def globals = [:]
def snapshotProperty = System.getProperty("chirp.graph.snapshot")
if (snapshotProperty == null) {
    globals << [g : traversal().withEmbedded(graph)]
} else {
    def log = LoggerFactory.getLogger("chirp.graph.snapshot")
    Path snapshot = Paths.get(snapshotProperty)
    if (Files.exists(snapshot)) {
        def started = System.nanoTime()
        graph.io(IoCore.graphson()).readGraph(snapshot.toString())  // a failure stops here: no empty graph overwrites it
        log.info("loaded {} vertices and {} edges from {} in {} ms", graph.traversal().V().count().next(),
                graph.traversal().E().count().next(), snapshot, (System.nanoTime() - started).intdiv(1000000))
    }
    def dirty = new AtomicBoolean(false)
    def write = { ->
        Path scratch = snapshot.resolveSibling(snapshot.fileName.toString() + ".tmp")
        Files.deleteIfExists(scratch)
        graph.io(IoCore.graphson()).writeGraph(scratch.toString())
        def check = TinkerGraph.open(graph.configuration())
        try {
            check.io(IoCore.graphson()).readGraph(scratch.toString())
        } finally {
            check.close()
        }
        FileChannel.open(scratch, StandardOpenOption.WRITE).withCloseable { it.force(true) }
        Files.move(scratch, snapshot, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
        FileChannel.open(snapshot.parent, StandardOpenOption.READ).withCloseable { it.force(true) }  // the rename
    }
    def writeIfChanged = { ->
        if (!dirty.getAndSet(false)) return
        try {
            write()
        } catch (Throwable e) {
            dirty.set(true)  // try again on the next tick
            Files.deleteIfExists(snapshot.resolveSibling(snapshot.fileName.toString() + ".tmp"))
            log.warn("graph snapshot not written, retrying: {}", e.toString())
        }
    }
    def scheduler = Executors.newSingleThreadScheduledExecutor({ Runnable r ->
        def thread = new Thread(r, "chirp-graph-snapshot")
        thread.daemon = true
        thread
    } as ThreadFactory)
    scheduler.scheduleWithFixedDelay(writeIfChanged as Runnable, 1, 1, TimeUnit.SECONDS)
    // Every MutationListener method (vertexAdded, edgeRemoved, vertexPropertyChanged, ...) marks the graph changed.
    def changed = { Object[] args -> dirty.set(true) } as MutationListener
    def events = EventStrategy.build().detach(EventStrategy.Detachment.REFERENCE).addListener(changed).create()
    globals << [g : traversal().withEmbedded(graph).withStrategies(events)]
    globals << [chirpSnapshotHook : [
        onStartUp : { ctx -> },
        onShutDown : { ctx ->
            scheduler.shutdown()
            scheduler.awaitTermination(30, TimeUnit.SECONDS)
            writeIfChanged()
            log.info("graph snapshot written to {}", snapshot)
        }
    ] as LifeCycleHook]
}
globals
