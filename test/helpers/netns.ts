// The namespace lab is part of the product now (`outpost lab`); tests use the same one.
export * from '../../node/lab/netns.js'
