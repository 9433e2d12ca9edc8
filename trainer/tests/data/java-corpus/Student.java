package corpus.school;

import java.util.ArrayList;
import java.util.List;

/** A student with a list of grades. */
public class Student implements Comparable<Student> {
    private final String name;
    private final List<Integer> grades = new ArrayList<>();

    public Student(String name) {
        this.name = name;
    }

    public void addGrade(int grade) {
        if (grade < 0 || grade > 100) {
            throw new IllegalArgumentException("grade out of range: " + grade);
        }
        grades.add(grade);
    }

    public double average() {
        if (grades.isEmpty()) {
            return 0;
        }
        int sum = 0;
        for (int grade : grades) {
            sum += grade;
        }
        return (double) sum / grades.size();
    }

    public String getName() {
        return name;
    }

    @Override
    public int compareTo(Student other) {
        return Double.compare(other.average(), average());
    }
}
