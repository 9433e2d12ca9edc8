import java.util.ArrayList;
import java.util.List;

public class DepthFirstSearch {

    private final List<List<Integer>> graph;
    private final boolean[] visited;
    private final List<Integer> order = new ArrayList<>();

    public DepthFirstSearch(List<List<Integer>> graph) {
        this.graph = graph;
        this.visited = new boolean[graph.size()];
    }

    /** Visits every vertex reachable from v, recording the visiting order. */
    public void dfs(int v) {
