// Gremlin Server init script: binds the traversal source "g" (what Neptune exposes) to the TinkerGraph "graph".
def globals = [:]
globals << [g : traversal().withEmbedded(graph)]
