// flowgate test stub (not Elasticsearch's code).
package org.elasticsearch.index.query;

import java.util.ArrayList;
import java.util.List;

public class BoolQueryBuilder implements QueryBuilder {
    private final List<String> must = new ArrayList<>();
    private final List<String> should = new ArrayList<>();
    private final List<String> mustNot = new ArrayList<>();

    public BoolQueryBuilder must(QueryBuilder q) {
        must.add(q.toJson());
        return this;
    }

    public BoolQueryBuilder should(QueryBuilder q) {
        should.add(q.toJson());
        return this;
    }

    public BoolQueryBuilder mustNot(QueryBuilder q) {
        mustNot.add(q.toJson());
        return this;
    }

    public String toJson() {
        return "{\"bool\":{\"must\":[" + String.join(",", must) + "],\"should\":[" + String.join(",", should)
                + "],\"mustNot\":[" + String.join(",", mustNot) + "]}}";
    }
}
