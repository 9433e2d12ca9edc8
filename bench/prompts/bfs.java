import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;

public class BreadthFirstSearch {

    /** Number of edges on a shortest path from source to every vertex, or -1. */
    public static int[] distances(List<List<Integer>> graph, int source) {
