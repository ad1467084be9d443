// Svelte 5: TypeScript in <script lang="ts"> is handled natively (type annotations only).
export default {
  compilerOptions: { runes: true },
};
