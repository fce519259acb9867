"""email keys and session tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 04:00:00

"""
import secrets

from alembic import op
import sqlalchemy as sa

from gradelab.emails import email_key


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN and CREATE INDEX: a batch copy of `users` would fail on SQLite, where the
    # submissions' foreign keys point at it. The server defaults only fill the rows before _backfill.
    op.add_column('users', sa.Column('email_key', sa.String(length=254), server_default='', nullable=False))
    op.add_column('users', sa.Column('session_token', sa.String(length=32), server_default='', nullable=False))
    _backfill()
    op.create_index(op.f('ix_users_email_key'), 'users', ['email_key'], unique=True)


def _backfill():
    """Each account's key and a fresh session token (every signed-in session ends once, here).

    Look-alike accounts made before this revision keep working: the first (oldest) owns the key,
    each later one gets a key of its own made from its id, and signs in with its exact address.
    """
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('email', sa.String),
                     sa.column('email_key', sa.String), sa.column('session_token', sa.String))
    connection = op.get_bind()
    taken = set()
    for user_id, email in connection.execute(sa.select(users.c.id, users.c.email).order_by(users.c.id)).all():
        key = email_key(email)
        if key in taken:
            key = f'{user_id}#{key}'[:254]
        taken.add(key)
        connection.execute(users.update().where(users.c.id == user_id).values(email_key=key, session_token=secrets.token_hex(16)))


def downgrade():
    op.drop_index(op.f('ix_users_email_key'), table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
        batch_op.drop_column('email_key')
