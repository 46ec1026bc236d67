// The shared todo list (examples/todo, @kvsync/react's useEntries over `todo/`) in two browser
// contexts against a real kvsync-server: add, complete, delete and clear converge both ways.
import type { Page } from '@playwright/test'
import { buildExample, expect, test } from './react-apps.js'

let appDist = ''
test.beforeAll(() => {
  appDist = buildExample('todo')
})
test.use({ appDist: async ({}, use) => use(appDist) })

const titles = (page: Page) => page.getByTestId('todo').locator('span')

async function add(page: Page, title: string) {
  await page.getByLabel('New todo').fill(title)
  await page.getByLabel('New todo').press('Enter')
  await expect(titles(page).filter({ hasText: title })).toHaveCount(1)
}

test('two people share one list: adds, completions and deletes converge both ways', async ({ openApp, saveScreenshot }) => {
  const a = (await openApp('A', '/?list=groceries')).page
  const b = (await openApp('B', '/?list=groceries')).page
  for (const page of [a, b]) await expect(page.getByTestId('sync-status')).toHaveAttribute('data-saved', 'yes')

  await add(a, 'Milk')
  await add(a, 'Bread')
  await add(b, 'Coffee')
  // Both see all three, in creation order (ids sort by time).
  for (const page of [a, b]) await expect(titles(page)).toHaveText(['Milk', 'Bread', 'Coffee'])
  await expect(b.getByTestId('left')).toHaveText('3 items left')

  await b.getByRole('checkbox', { name: 'Bread' }).check()
  await expect(a.getByRole('checkbox', { name: 'Bread' })).toBeChecked()
  await expect(a.getByTestId('left')).toHaveText('2 items left')

  await a.getByRole('button', { name: 'Delete Milk' }).click()
  await expect(titles(b)).toHaveText(['Bread', 'Coffee'])

  await a.getByLabel('List title').fill('Groceries for Sunday')
  await expect(b.getByLabel('List title')).toHaveValue('Groceries for Sunday')

  await b.getByRole('button', { name: 'Active' }).click()
  await expect(titles(b)).toHaveText(['Coffee'])
  await b.getByRole('button', { name: 'All' }).click()
  await saveScreenshot(a, 'todo-a')

  await a.getByRole('button', { name: 'Clear done (1)' }).click()
  for (const page of [a, b]) {
    await expect(titles(page)).toHaveText(['Coffee'])
    await expect(page.getByTestId('left')).toHaveText('1 item left')
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-saved', 'yes')
  }
  await saveScreenshot(b, 'todo-b')
})

test('edits made offline show up for the other person after reconnecting', async ({ openApp }) => {
  const a = await openApp('A', '/?list=trip')
  const b = (await openApp('B', '/?list=trip')).page
  await add(a.page, 'Passport')
  await expect(titles(b)).toHaveText(['Passport'])

  await a.context.setOffline(true)
  await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-status', 'offline')
  await add(a.page, 'Sunscreen')
  await a.page.getByRole('checkbox', { name: 'Passport' }).check()
  await expect(titles(b)).toHaveText(['Passport'])
  await expect(b.getByRole('checkbox', { name: 'Passport' })).not.toBeChecked()

  await a.context.setOffline(false)
  await expect(titles(b)).toHaveText(['Passport', 'Sunscreen'])
  await expect(b.getByRole('checkbox', { name: 'Passport' })).toBeChecked()
  await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-saved', 'yes')
})
