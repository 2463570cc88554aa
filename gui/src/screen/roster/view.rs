//! How the roster screen is drawn: requests first (they wait for the
//! user), then the add form, then the contacts by name.

use iced::widget::{
    Column, button, column, container, pick_list, row, rule, scrollable, text, text_input,
};
use iced::{Element, Length};
use wimsy_ipc::{AccountView, Contact, FrontendState};

use super::words::{display_name, presence, subscription};
use super::{Message, State, ids};

const MAX_WIDTH: f32 = 640.0;

impl State {
    /// Draw the screen for the account shown.
    pub fn view<'a>(&'a self, state: &'a FrontendState) -> Element<'a, Message> {
        let mut page = column![text("Contacts").size(24)].spacing(16);
        if state.accounts.len() > 1 {
            let accounts: Vec<String> = state.accounts.keys().cloned().collect();
            page = page.push(
                row![
                    text("Account"),
                    pick_list(accounts, self.account.clone(), Message::AccountChosen),
                ]
                .spacing(10)
                .align_y(iced::Alignment::Center),
            );
        }
        let Some(view) = self.account.as_ref().and_then(|a| state.accounts.get(a)) else {
            return frame(page.push(text("Sign in to an account to see its contacts.")));
        };
        page = self.requests_view(page, view);
        page = page.push(self.add_view());
        if let Some(problem) = &self.problem {
            page = page.push(text(problem).style(text::danger));
        }
        if let Some(done) = &self.done {
            page = page.push(text(done).style(text::success));
        }
        page = page.push(rule::horizontal(1));
        let mut contacts: Vec<&Contact> = view.contacts.values().collect();
        contacts.sort_by_cached_key(|c| (display_name(c).to_lowercase(), c.jid.clone()));
        if contacts.is_empty() {
            page = page.push(text("No contacts yet: add one above.").style(text::secondary));
        }
        for contact in contacts {
            page = page.push(self.contact_view(contact));
        }
        frame(page)
    }

    fn requests_view<'a>(
        &'a self,
        page: Column<'a, Message>,
        view: &'a AccountView,
    ) -> Column<'a, Message> {
        if view.subscription_requests.is_empty() {
            return page;
        }
        let busy = self.pending.is_some();
        let mut list = column![
            text("Asking to see your status").size(18),
            text("Accept lets them see when you are online, and asks to see theirs.")
                .size(14)
                .style(text::secondary),
        ]
        .spacing(8);
        for jid in &view.subscription_requests {
            list = list.push(
                row![
                    text(jid).width(Length::Fill),
                    button("Accept")
                        .style(button::primary)
                        .on_press_maybe((!busy).then(|| Message::Accept(jid.clone()))),
                    button("Deny")
                        .style(button::secondary)
                        .on_press_maybe((!busy).then(|| Message::Deny(jid.clone()))),
                ]
                .spacing(10)
                .align_y(iced::Alignment::Center),
            );
        }
        page.push(container(list).padding(12).style(container::bordered_box))
    }

    fn add_view(&self) -> Element<'_, Message> {
        let add = button("Add contact")
            .style(button::primary)
            .on_press_maybe(self.pending.is_none().then_some(Message::Add));
        column![
            text("Add a contact").size(18),
            // One above the other: side by side, a narrow window (or twice
            // the scale) cuts the placeholders off.
            text_input("Address, like bob@example.org", &self.add_jid)
                .id(ids::ADD_JID)
                .on_input(Message::AddJidChanged)
                .on_submit(Message::Add),
            text_input("Name (optional)", &self.add_name)
                .id(ids::ADD_NAME)
                .on_input(Message::AddNameChanged)
                .on_submit(Message::Add),
            add,
        ]
        .spacing(8)
        .into()
    }

    fn contact_view<'a>(&'a self, contact: &'a Contact) -> Element<'a, Message> {
        let busy = self.pending.is_some();
        let jid = &contact.jid;
        let name = display_name(contact);
        let mut lines = column![text(name).size(17)].spacing(2);
        if name != jid {
            lines = lines.push(text(jid).size(14).style(text::secondary));
        }
        let tone = match (contact.presence.available, contact.presence.show.as_deref()) {
            (false, _) => text::secondary,
            (true, None | Some("chat")) => text::success,
            (true, Some(_)) => text::warning,
        };
        lines = lines
            .push(text(presence(&contact.presence)).size(14).style(tone))
            .push(
                text(subscription(&contact.subscription))
                    .size(14)
                    .style(text::secondary),
            );
        let actions = match (&self.renaming, &self.removing) {
            (Some((renaming, typed)), _) if renaming == jid => column![
                text_input("Name (empty shows the address)", typed)
                    .id(ids::RENAME)
                    .on_input(Message::RenameChanged)
                    .on_submit(Message::SaveRename),
                row![
                    button("Save")
                        .style(button::primary)
                        .on_press_maybe((!busy).then_some(Message::SaveRename)),
                    button("Cancel")
                        .style(button::secondary)
                        .on_press(Message::CancelRename),
                ]
                .spacing(10),
            ]
            .spacing(8),
            (_, Some(removing)) if removing == jid => column![
                text(format!(
                    "Remove {name} from your contacts? You stop seeing each other's status. \
                     Your chat history stays."
                )),
                row![
                    button("Remove")
                        .style(button::danger)
                        .on_press_maybe((!busy).then_some(Message::ConfirmRemove)),
                    button("Keep")
                        .style(button::secondary)
                        .on_press(Message::CancelRemove),
                ]
                .spacing(10),
            ]
            .spacing(8),
            _ => column![
                row![
                    button("Chat")
                        .style(button::secondary)
                        .on_press(Message::OpenChat(jid.clone())),
                    button("Rename")
                        .style(button::secondary)
                        .on_press(Message::Rename(
                            jid.clone(),
                            contact.name.clone().unwrap_or_default()
                        )),
                    button("Remove")
                        .style(button::secondary)
                        .on_press(Message::Remove(jid.clone())),
                ]
                .spacing(8)
                .wrap()
                .vertical_spacing(8),
            ],
        };
        column![lines, actions].spacing(8).into()
    }
}

fn frame(page: Column<'_, Message>) -> Element<'_, Message> {
    scrollable(
        container(page.max_width(MAX_WIDTH))
            .padding(24)
            .center_x(Length::Fill),
    )
    .into()
}
