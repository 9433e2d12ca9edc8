package corpus.school;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** A course with enrolled students. */
public class Course {
    private final String title;
    private final int capacity;
    private final List<Student> students = new ArrayList<>();

    public Course(String title, int capacity) {
        this.title = title;
        this.capacity = capacity;
    }

    public boolean enroll(Student student) {
        if (students.size() >= capacity || students.contains(student)) {
            return false;
        }
        students.add(student);
        return true;
    }

    public List<Student> ranking() {
        List<Student> sorted = new ArrayList<>(students);
        Collections.sort(sorted);
        return sorted;
    }

    public String getTitle() {
        return title;
    }
}
