import { describe, expect, it } from 'vitest';
import { byCourse, courseOf, fireCourseEntry, heldCourses } from './courses';

describe('courses', () => {
  it('an item without a course counts as course 1', () => {
    expect(courseOf({ course: null })).toBe(1);
    expect(courseOf({})).toBe(1);
    expect(courseOf({ course: 3 })).toBe(3);
  });
  it('groups held items by course, lowest first, ignoring items already fired', () => {
    const items = [
      { name: 'Soup', quantity: 1, course: 1, status: 'sent' },
      { name: 'Cake', quantity: 2, course: 3, status: 'held' },
      { name: 'Steak', quantity: 1, course: 2, status: 'held' },
      { name: 'Fish', quantity: 1, course: 2, status: 'held' },
      { name: 'Beer', quantity: 1, course: 2, status: 'ready' },
    ];
    expect(heldCourses(items).map((h) => [h.course, h.items.map((i) => i.name)])).toEqual([
      [2, ['Steak', 'Fish']],
      [3, ['Cake']],
    ]);
    expect(byCourse([{ course: null }, { course: 1 }]).map((h) => h.items.length)).toEqual([2]);
  });
  it('fires through the queue with the order and course in the path', () => {
    expect(fireCourseEntry('o-1', 2, 'Table T1')).toEqual({
      label: 'Fire course 2 of Table T1',
      method: 'POST',
      path: '/api/orders/o-1/courses/2/fire',
      body: {},
    });
  });
});
