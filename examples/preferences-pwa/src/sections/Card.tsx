import { useKvsync } from '@kvsync/react'
import type { ReactNode } from 'react'

/** A titled group of settings; disabled until the store is open, so no edit is refused. */
export function Card({ title, description, children }: { title: string; description?: string; children: ReactNode }) {
  const { store } = useKvsync()
  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      {description ? <p className="card-description">{description}</p> : null}
      <fieldset disabled={store === undefined}>{children}</fieldset>
    </section>
  )
}
