// Courses: when an order is sent, its first course goes to the stations and later courses
// wait as `held` until the waiter fires them (POST /api/orders/{id}/courses/{n}/fire).
// An item without a course counts as course 1, as the server counts it.

/** The smallest shape of an item both the order view and the KDS's held list have. */
export interface CourseItem {
  course?: number | null;
  quantity: number;
  name: string;
}

export interface HeldCourse<T> {
  course: number;
  items: T[];
}

export function courseOf(item: { course?: number | null }): number {
  return item.course ?? 1;
}

/** Items grouped by course, lowest course first; items keep their order inside a course. */
export function byCourse<T extends { course?: number | null }>(items: T[]): HeldCourse<T>[] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const c = courseOf(item);
    groups.set(c, [...(groups.get(c) ?? []), item]);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([course, items]) => ({ course, items }));
}

/** The held courses of an order (what a "Fire course N" button fires). */
export function heldCourses<T extends { course?: number | null; status: string }>(items: T[]): HeldCourse<T>[] {
  return byCourse(items.filter((i) => i.status === 'held'));
}

/** The offline-queue entry that fires `course` of an order (its own Idempotency-Key is made
 * when it is queued and kept for every replay). */
export function fireCourseEntry(orderId: string, course: number, title: string) {
  return {
    label: `Fire course ${course} of ${title}`,
    method: 'POST' as const,
    path: `/api/orders/${orderId}/courses/${course}/fire`,
    body: {},
  };
}
