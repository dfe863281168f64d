// flowgate's driver of Conductor's own search-query readers (test/node/conductorSearch.test.ts): reads one
// base64 (UTF-8) query per line, answers one JSON line each.
//   java Oracle es   -> es7-persistence's Expression.fromString(q).getFilterBuilder(), as ElasticSearchBaseDAO calls it
//   java Oracle sql  -> postgres-persistence's PostgresIndexQueryBuilder: its SQL and the parameters it binds
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import com.netflix.conductor.es7.dao.query.parser.Expression;
import com.netflix.conductor.postgres.config.PostgresProperties;
import com.netflix.conductor.postgres.util.PostgresIndexQueryBuilder;
import com.netflix.conductor.postgres.util.Query;

public class Oracle {
    static String str(Object o) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : String.valueOf(o).toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    static String value(Object o) {
        if (o instanceof List) {
            List<String> out = new ArrayList<>();
            for (Object x : (List<?>) o) out.add(str(x));
            return "[" + String.join(",", out) + "]";
        }
        return str(o);
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        // The parser prints its own diagnostics on errors (AbstractNode.parse): kept off the answers.
        System.setOut(new PrintStream(OutputStream.nullOutputStream()));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String q = new String(Base64.getDecoder().decode(line.trim()), StandardCharsets.UTF_8);
            try {
                if (args[0].equals("es")) {
                    out.println("{\"ok\":true,\"filter\":" + Expression.fromString(q).getFilterBuilder().toJson() + "}");
                } else {
                    PostgresIndexQueryBuilder b = new PostgresIndexQueryBuilder(
                            "workflow_index", q, "*", 0, 10, new ArrayList<>(), new PostgresProperties());
                    Query params = new Query();
                    b.addParameters(params);
                    List<String> ps = new ArrayList<>();
                    for (Object p : params.parameters) ps.add(value(p));
                    out.println("{\"ok\":true,\"sql\":" + str(b.getQuery()) + ",\"params\":[" + String.join(",", ps) + "]}");
                }
            } catch (Throwable t) {
                out.println("{\"ok\":false,\"error\":" + str(t.getClass().getSimpleName() + ": " + t.getMessage()) + "}");
            }
        }
    }
}
