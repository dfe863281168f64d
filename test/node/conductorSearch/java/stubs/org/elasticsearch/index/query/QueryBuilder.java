// flowgate test stub (not Elasticsearch's code): the query tree Conductor's parser builds, as JSON.
package org.elasticsearch.index.query;

public interface QueryBuilder {
    String toJson();
}
