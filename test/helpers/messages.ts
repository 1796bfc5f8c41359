// The node's own seeded generator (the mesh lab and its fault injector use it too).
export { seededRandom } from '../../node/seeded-random.js'
